/**
 * End to end: `tsnix --store <chroot store> -r X.drv` builds golden/sandbox's derivations in the sandbox
 * (a chroot store always builds sandboxed), with Nix 2.8's output paths, NAR hashes and references.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runTsnix } from "../../cli/helpers.js"
import { busybox, golden, paths, skipReason } from "./goldenSandbox.js"

const skip = skipReason !== undefined
if (skip) console.warn(`sandboxed tsnix -r tests skipped: ${skipReason}`)

let top = ""
let store = ""
const env = { NIX_CONFIG: "sandbox = true\nsubstituters =" }
const tsnix = (args: ReadonlyArray<string>, input?: Uint8Array) =>
  runTsnix(["--store", store, ...args], { env, ...(input !== undefined ? { input } : {}) })

describe.skipIf(skip)("tsnix -r in a chroot store, sandboxed, against Nix 2.8", () => {
  beforeAll(async () => {
    top = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-sbreal-"))
    store = path.join(top, "r")
    fs.mkdirSync(path.join(top, "bb"))
    fs.copyFileSync(busybox, path.join(top, "bb", "busybox"))
    const add = await tsnix(["--add-fixed", "--recursive", "sha256", path.join(top, "bb")])
    expect(add.stdout.toString()).toBe(`${paths["bb"]}\n`)
    const imp = await tsnix(["--import"], fs.readFileSync(path.join(golden, "drvs.export")))
    expect(imp.status, imp.stderr).toBe(0)
  })
  afterAll(() => {
    if (top !== "") fs.rmSync(top, { recursive: true, force: true })
  })

  for (const name of ["introspect", "fod", "paths"]) {
    it(`${name}: Nix's output path, NAR hash, references and bytes; no sandbox directory left`, async () => {
      const extra = name === "paths"
        ? ["--option", "sandbox-paths", `/bin/sh=${store}${paths["bb"]}/busybox /opt/missing?`]
        : []
      const r = await tsnix(["-r", paths[`${name}.drv`]!, "--cores", "2", ...extra])
      expect(r.status, r.stderr).toBe(0)
      const out = paths[`${name}.out`]!
      expect(r.stdout.toString()).toBe(`${out}\n`)
      expect(fs.readFileSync(path.join(store, out), "utf8")).toBe(
        fs.readFileSync(path.join(golden, "out", name), "utf8")
      )
      const hash = await tsnix(["-q", "--hash", out])
      expect(hash.stdout.toString()).toBe(fs.readFileSync(path.join(golden, "out", `${name}.narhash`), "utf8"))
      const refs = await tsnix(["-q", "--references", out])
      expect(refs.stdout.toString()).toBe(fs.readFileSync(path.join(golden, "out", `${name}.refs`), "utf8"))
      expect(fs.readdirSync(path.join(store, "nix")).filter((n) => n.startsWith(".tsnix-chroot"))).toEqual([])
    })
  }
})
