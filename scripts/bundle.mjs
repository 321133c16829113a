#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js) into one script, dist/bundle/tsnix.cjs, with esbuild,
// then writes the V8 code cache that bin/tsnix loads it with (dist/bundle/tsnix.cache).
// One minified module graph resolved at build time, compiled from a code cache, starts about
// three times faster than thousands of separate ES modules; operations still initialise lazily
// (their dynamic imports become lazy module initialisers). Native addons stay external.
//
// The cache is made by running a few representative commands in a temporary directory, each with
// TSNIX_WRITE_CODE_CACHE=1: every run starts from the previous run's cache and adds the functions it
// compiled, so the final cache covers start-up, hashing, a store's queries, verification and GC.
import { execFileSync } from "node:child_process"
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { build } from "esbuild"

const outDir = "dist/bundle"
const bundleFile = join(outDir, "tsnix.cjs")
rmSync(outDir, { recursive: true, force: true })

await build({
  entryPoints: ["dist/cli/main.js"],
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  outfile: bundleFile,
  external: ["better-sqlite3", "fs-ext", "node-liblzma", "zstd-napi", "compressjs", "unbzip2-stream"],
  minify: true,
  charset: "ascii",
  legalComments: "external",
  // `import.meta.url` (used to build a `require`) is the bundle's own URL.
  define: { "import.meta.url": "__tsnixImportMetaUrl" },
  banner: { js: "const __tsnixImportMetaUrl = require('url').pathToFileURL(__filename).href;" },
  logLevel: "warning"
})

// The NAR dump worker (src/io/dumpWorker.ts), which the bundle starts from its own directory
// (new URL("./dumpWorker.js", import.meta.url)): a small ES module of its own, without Effect.
await build({
  entryPoints: ["dist/io/dumpWorker.js"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: join(outDir, "dumpWorker.js"),
  minify: true,
  charset: "ascii",
  legalComments: "external",
  logLevel: "warning"
})

// bin/tsnix decodes the bundle as latin1: make sure that is exact.
if (readFileSync(bundleFile).some((b) => b > 0x7f)) throw new Error(`${bundleFile} is not ASCII`)

const work = mkdtempSync(join(tmpdir(), "tsnix-code-cache-"))
try {
  const tree = join(work, "tree")
  mkdirSync(join(tree, "sub"), { recursive: true })
  writeFileSync(join(tree, "a"), "a file\n")
  writeFileSync(join(tree, "sub", "run"), "#!/bin/sh\n")
  chmodSync(join(tree, "sub", "run"), 0o755)
  symlinkSync("a", join(tree, "link"))
  const store = join(work, "root")
  // The cache only makes start-up faster: a command that fails here is reported, not fatal.
  const tsnix = (...args) => {
    try {
      return execFileSync(process.execPath, ["bin/tsnix", ...args], {
        env: { ...process.env, TSNIX_WRITE_CODE_CACHE: "1", TSNIX_STORE: store },
        stdio: ["ignore", "pipe", "pipe"],
        encoding: "utf8"
      })
    } catch (e) {
      process.stderr.write(
        `warning: code cache warm-up 'tsnix ${args.join(" ")}' failed: ${e instanceof Error ? e.message : String(e)}\n`
      )
      return ""
    }
  }
  tsnix("--version")
  tsnix("hash", "--type", "sha256", tree)
  const path = tsnix("--add", tree).trim() || tree
  tsnix("-qR", path)
  tsnix("--query", "--hash", path)
  tsnix("--dump-db")
  tsnix("--verify", "--check-contents")
  tsnix("--gc", "--print-dead")
} finally {
  rmSync(work, { recursive: true, force: true })
}
if (!existsSync(join(outDir, "tsnix.cache"))) {
  process.stderr.write("warning: no code cache was written: tsnix will start more slowly\n")
}
