// The CLI's confirmation on a terminal: what it shows before it asks. A warning already in the
// preview is not printed a second time (issue 13: "the only usable snapshot" three times).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { CliConfirmation } from "./confirmation.js";

function shown(preview: string, warnings: string[]): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = "";
  output.on("data", (d: Buffer) => (text += d.toString("utf8")));
  const port = new CliConfirmation({ interactive: true, confirm: "snap", input, output });
  return port
    .confirm({
      kind: "typed-name",
      action: "delete",
      title: "Delete snapshot ns/snap?",
      preview,
      expectedName: "snap",
      warnings,
      planDigest: "d",
    })
    .then(() => text);
}

describe("CLI confirmation", () => {
  const warning =
    "this is the only usable snapshot of VM db: after deleting it, the VM cannot be restored";

  it("shows a warning that the preview carries once", async () => {
    const text = await shown(`delete VirtualMachineSnapshot ns/snap\nwarning: ${warning}`, [
      warning,
    ]);
    assert.equal(text.split("only usable snapshot").length - 1, 1, text);
  });

  it("shows a warning that the preview does not carry", async () => {
    const text = await shown("delete VirtualMachineSnapshot ns/snap", [warning]);
    assert.equal(text.split("only usable snapshot").length - 1, 1, text);
  });
});
