// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The layers (docs/adr/0007-plan-consent-execute.md): each folder of src/ imports only the ones
// below it. core (names, model, plans, confirmation, advice, errors) imports nothing above it and
// does no I/O; kube imports core; platforms core and kube; workflows core, kube and platforms;
// report (the shared rendering) core only; the faces — cli and mcp — core, workflows and report,
// and not each other; playground is separate (core and kube). Dynamic import() is held to the
// same rules as static imports.
const LAYERS = [
  "core",
  "kube",
  "platforms",
  "workflows",
  "report",
  "cli",
  "mcp",
  "playground",
  "controller",
];
const IO_MODULES = [
  "fs",
  "fs/promises",
  "net",
  "http",
  "https",
  "http2",
  "tls",
  "dns",
  "dgram",
  "child_process",
  "readline",
  "readline/promises",
  "worker_threads",
  "cluster",
];

/** Rules for the files of one layer: the layers it may not import, by relative path. */
function layer(name, forbidden, extra = {}) {
  const regex = `^(\\.\\./)+(${forbidden.join("|")})/`;
  const message = `src/${name} may not import ${forbidden.join(", ")} (layer rules: eslint.config.js)`;
  const nodeIo = extra.noIo
    ? IO_MODULES.flatMap((m) => [m, `node:${m}`]).map((m) => ({
        name: m,
        message: `src/${name} does no I/O`,
      }))
    : [];
  return {
    files: extra.files ?? [`src/${name}/**/*.ts`],
    ignores: extra.ignores ?? [],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            ...nodeIo,
            ...(extra.noIo
              ? [{ name: "@kubernetes/client-node", message: `src/${name} does no I/O` }]
              : []),
          ],
          patterns: [{ regex, message }],
        },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: `ImportExpression > Literal[value=/${regex.replace(/\//g, "\\/")}/]`,
          message,
        },
      ],
    },
  };
}

const above = (name) => LAYERS.filter((l) => l !== name);

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "release/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    // The single executable's scripts are CommonJS by necessity (scripts/sea/).
    files: ["**/*.cjs"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  // Type-aware rules: a promise is awaited, returned or explicitly voided; none is passed where a
  // plain callback is expected.
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          // node:test registers tests with these; the runner awaits them.
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
    },
  },
  layer("core", above("core"), { noIo: true }),
  layer("kube", ["platforms", "workflows", "report", "cli", "mcp", "playground", "controller"]),
  layer("platforms", ["workflows", "report", "cli", "mcp", "playground", "controller"]),
  layer("workflows", ["report", "cli", "mcp", "playground", "controller"]),
  layer(
    "report",
    above("report").filter((l) => l !== "core"),
  ),
  layer("cli", ["kube", "platforms", "mcp", "playground", "controller"], {
    ignores: [
      "src/cli/commands/mcp.ts",
      "src/cli/commands/playground.ts",
      "src/cli/commands/controller.ts",
    ],
  }),
  // The commands that start the other faces: `vmsnap mcp` starts the MCP server, `vmsnap
  // playground` the playground, `vmsnap controller` the policy controller; nothing else of the
  // CLI reaches into them.
  layer("cli", ["kube", "platforms", "playground", "controller"], {
    files: ["src/cli/commands/mcp.ts"],
  }),
  layer("cli", ["kube", "platforms", "mcp", "controller"], {
    files: ["src/cli/commands/playground.ts"],
  }),
  layer("cli", ["kube", "platforms", "mcp", "playground"], {
    files: ["src/cli/commands/controller.ts"],
  }),
  layer("mcp", ["kube", "platforms", "cli", "playground", "controller"]),
  layer("playground", ["platforms", "workflows", "report", "cli", "mcp", "controller"], {
    ignores: ["src/playground/controller.ts"],
  }),
  // The playground runs the policy controller beside its simulators (one module starts it).
  layer("playground", ["platforms", "workflows", "report", "cli", "mcp"], {
    files: ["src/playground/controller.ts"],
  }),
);
