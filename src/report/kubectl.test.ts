import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  parseCustomColumns,
  renderCustomColumns,
  renderJsonPath,
  sortItems,
  tabwrite,
} from "./kubectl.js";

const list = {
  kind: "SnapshotList",
  items: [
    { name: "web-10", vm: "web", size: 10, tags: ["a", "b"] },
    { name: "web-2", vm: "web", size: 2, tags: [] },
    { name: "db-1", vm: "db", size: 30 },
  ],
};

describe("kubectl printers", () => {
  it("jsonpath: fields, several matches joined by a space, {range}…{end}, string literals", () => {
    assert.equal(renderJsonPath(list, "{.items[*].name}"), "web-10 web-2 db-1");
    assert.equal(
      renderJsonPath(list, '{range .items[*]}{.name}{"\\t"}{.vm}{"\\n"}{end}'),
      "web-10\tweb\nweb-2\tweb\ndb-1\tdb\n",
    );
    assert.equal(
      renderJsonPath(list, "kind={.kind} first={.items[0].name}"),
      "kind=SnapshotList first=web-10",
    );
    // Objects and arrays print as JSON; a missing key prints nothing (kubectl's default).
    assert.equal(renderJsonPath(list, "{.items[0].tags}"), '["a","b"]');
    assert.equal(renderJsonPath(list, "{.items[0].nothing}"), "");
    assert.equal(renderJsonPath(list, '{.items[?(@.vm=="db")].name}'), "db-1");
  });

  it("jsonpath: an unbalanced template is a usage error", () => {
    assert.throws(() => renderJsonPath(list, "{.items"), /unclosed/);
    assert.throws(() => renderJsonPath(list, "{range .items[*]}{.name}"), /without \{end\}/);
    assert.throws(() => renderJsonPath(list, "{end}"), /without \{range/);
  });

  it("custom-columns: <none> where nothing matches, commas between matches, kubectl's padding", () => {
    const columns = parseCustomColumns("NAME:.name,VM:{.vm},T:.tags[*]");
    assert.equal(
      renderCustomColumns(list, columns, false),
      [
        "NAME     VM    T",
        "web-10   web   a,b",
        "web-2    web   <none>",
        "db-1     db    <none>",
        "",
      ].join("\n"),
    );
    assert.equal(renderCustomColumns(list, columns, true).split("\n")[0], "web-10   web   a,b");
    assert.throws(() => parseCustomColumns("NAME"), /HEADER:JSONPATH/);
  });

  it("tabwriter: minimum width 6, padding 3, the last column unpadded", () => {
    assert.equal(
      tabwrite([
        ["A", "B"],
        ["longer", "x"],
      ]),
      "A        B\nlonger   x\n",
    );
    assert.equal(tabwrite([["A", "B"]]), "A     B\n");
  });

  it("sort-by: strings in byte order (as kubectl), numbers as numbers, stable", () => {
    const names = (o: typeof list) => o.items.map((i) => i.name);
    assert.deepEqual(names(sortItems(list, ".name")), ["db-1", "web-10", "web-2"]);
    assert.deepEqual(names(sortItems(list, "{.size}")), ["web-2", "web-10", "db-1"]);
    assert.deepEqual(names(sortItems(list, "vm")), ["db-1", "web-10", "web-2"]);
    // Not a list: unchanged.
    const one = { kind: "Snapshot", name: "x" };
    assert.equal(sortItems(one, ".name"), one);
  });
});
