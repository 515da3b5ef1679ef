// Loaded with `node --import` before the CLI (test/cli/startup-modules.test.ts): records every
// module the process loads — each URL through a synchronous, in-thread load hook, and Node's own
// built-ins from process.moduleLoadList — and writes them, as JSON, to $VMSNAP_MODULE_PROBE_OUT
// when the process exits.
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import process from "node:process";

const urls = [];
registerHooks({
  load(url, context, nextLoad) {
    urls.push(url);
    return nextLoad(url, context);
  },
});

process.on("exit", () => {
  writeFileSync(
    process.env.VMSNAP_MODULE_PROBE_OUT,
    JSON.stringify({ urls, builtins: process.moduleLoadList }),
  );
});
