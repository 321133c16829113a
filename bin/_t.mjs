#!/usr/bin/env node
// The tsnix command. It runs the CLI bundle that `npm run build` writes (also run by `npm ci` and
// `npm install`): dist/bundle/tsnix.cjs, compiled with the V8 code cache the build wrote beside it
// (dist/bundle/tsnix.cache), which spares each command most of its JavaScript parsing and compiling.
// A cache that V8 rejects (another Node version, other V8 flags) is ignored: the bundle is then
// compiled as usual. TSNIX_WRITE_CODE_CACHE=1 (used by the build) rewrites the cache on exit;
// TSNIX_DEBUG_CODE_CACHE=1 says on stderr whether the cache was accepted, rejected or absent.
import { readFileSync, renameSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Script } from "node:vm"

const bundleDir = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bundle")
const bundleFile = join(bundleDir, "tsnix.cjs")
const cacheFile = join(bundleDir, "tsnix.cache")

const T0 = performance.now(); process.on("exit", () => process.stderr.write(`start ${T0.toFixed(0)} compiled ${T1.toFixed(0)} ran ${T2.toFixed(0)} exit ${performance.now().toFixed(0)}\n`))
let source
try {
  // The bundle is ASCII (the build checks it), so latin1 decodes it exactly and fastest.
  source = readFileSync(bundleFile, "latin1")
} catch (e) {
  process.stderr.write(`error: cannot start tsnix (${e instanceof Error ? e.message : String(e)}); run 'npm run build' first\n`)
  process.exit(1)
}
let cachedData
try {
  cachedData = readFileSync(cacheFile)
} catch {
  cachedData = undefined
}
const script = new Script(
  `(function (exports, require, module, __filename, __dirname) {${source.replace(/^#!.*/, "")}\n})`,
  { filename: bundleFile, cachedData }
)
const T1 = performance.now()
if (process.env.TSNIX_DEBUG_CODE_CACHE === "1") {
  const state = cachedData === undefined ? "absent" : script.cachedDataRejected === true ? "rejected" : "accepted"
  process.stderr.write(`tsnix: code cache ${state}\n`)
}
if (process.env.TSNIX_WRITE_CODE_CACHE === "1") {
  process.on("exit", () => {
    try {
      writeFileSync(`${cacheFile}.tmp`, script.createCachedData())
      renameSync(`${cacheFile}.tmp`, cacheFile)
    } catch (e) {
      process.stderr.write(`warning: cannot write the code cache (${e instanceof Error ? e.message : String(e)})\n`)
    }
  })
}
const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(bundleFile), module, bundleFile, bundleDir)
const T2 = performance.now()
