#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js) into dist/bundle/ with esbuild: one module graph
// resolved at build time starts several times faster than thousands of separate ES modules.
// Operations stay in their own chunks (dynamic imports + splitting), so a command loads only what
// it needs. Native addons stay external.
import { build } from "esbuild"

await build({
  entryPoints: ["dist/cli/main.js"],
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outdir: "dist/bundle",
  outExtension: { ".js": ".mjs" },
  external: ["better-sqlite3", "fs-ext"],
  banner: { js: "import { createRequire as __tsnixCreateRequire } from 'module'; const require = __tsnixCreateRequire(import.meta.url);" },
  logLevel: "warning"
})
