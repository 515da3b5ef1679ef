// The apiVersion of every vmsnap output object (kept apart from the zod schemas so the CLI can
// start without loading them).
export const API_VERSION = "vmsnap.io/v1";
