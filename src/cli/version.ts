// The CLI's version: the package's (src/version.ts).
export { version } from "../version.js";
