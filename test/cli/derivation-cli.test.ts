/**
 * `tsnix show-derivation` and `tsnix derivation add` against Nix 2.8's own
 * `.drv` files and `nix show-derivation` JSON (golden/derivation/).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as StoreLive from "../../src/stores/local/layer.js"
import { makeStoreLayout } from "../../src/core/storeLayout.js"
import { Store } from "../../src/services/Store.js"
import { runTsnixBatch } from "./cliBatch.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/derivation")
const drvFiles = fs.readdirSync(path.join(golden, "drv")).sort()
const jsonOf = (base: string) => path.join(golden, "json", base.replace(/\.drv$/, ".json"))
const inputsOf = (base: string): { srcs: number; drvs: number } => {
  const j = JSON.parse(fs.readFileSync(jsonOf(base), "latin1")) as Record<
    string,
    { inputSrcs: Array<string>; inputDrvs: object }
  >
  const v = Object.values(j)[0]!
  return { srcs: v.inputSrcs.length, drvs: Object.keys(v.inputDrvs).length }
}
const tmpRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-drv-cli-"))

describe("tsnix show-derivation / derivation add", () => {
  it("show-derivation of Nix's .drv files prints Nix's JSON byte for byte", async () => {
    const results = await runTsnixBatch(drvFiles.map((f) => ["show-derivation", path.join(golden, "drv", f)]))
    results.forEach((r, i) => {
      const f = drvFiles[i]!
      expect(r.status, r.stderr).toBe(0)
      // Keyed by the path as given (a plain file here), as Nix does for the store path.
      const expected = fs.readFileSync(jsonOf(f), "latin1").replace(`/nix/store/${f}`, path.join(golden, "drv", f))
      expect(r.stdout.toString("latin1")).toBe(expected)
    })
  })

  it("derivation add writes Nix's .drv (same path, same bytes) for every derivation without inputs", async () => {
    const root = tmpRoot()
    const leaves = drvFiles.filter((f) => inputsOf(f).srcs === 0 && inputsOf(f).drvs === 0)
    expect(leaves.length).toBeGreaterThanOrEqual(10)
    const results = await runTsnixBatch(
      leaves.map((f) => ({ args: ["--store", root, "derivation", "add"], stdinFile: jsonOf(f) }))
    )
    results.forEach((r, i) => {
      const f = leaves[i]!
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout.toString()).toBe(`/nix/store/${f}\n`)
      expect(fs.readFileSync(path.join(root, "nix/store", f)).equals(fs.readFileSync(path.join(golden, "drv", f))))
        .toBe(true)
    })
    // Its outputs are recorded (DerivationOutputs): -q --outputs reads them back.
    const multi = leaves.find((f) => f.endsWith("-multi.drv"))!
    const [outs] = await runTsnixBatch([["--store", root, "-q", "--outputs", `/nix/store/${multi}`]])
    expect(outs!.stdout.toString().trim().split("\n").length).toBeGreaterThan(1)
  })

  it("derivation add refuses missing inputs and adds nothing; with its inputs in the store it matches Nix", async () => {
    const root = tmpRoot()
    const level1 = drvFiles.find((f) => f.endsWith("-level1.drv"))!
    const [refused] = await runTsnixBatch([{ args: ["--store", root, "derivation", "add"], stdinFile: jsonOf(level1) }])
    expect(refused!.status).toBe(1)
    expect(refused!.stderr).toMatch(/^error: input .* is not valid/)
    expect(fs.existsSync(path.join(root, "nix/store", level1))).toBe(false)
    // Provide its inputs: the sources (as nix-instantiate added them) and the input derivations.
    await Effect.runPromise(Effect.scoped(Effect.provide(
      Effect.gen(function*() {
        const store = yield* Store
        const script = path.join(root, "script.sh")
        fs.copyFileSync(path.join(golden, "nix/script.sh"), script)
        fs.chmodSync(script, 0o644)
        yield* store.addToStore(path.join(golden, "nix/file.txt"))
        yield* store.addToStore(script)
        yield* store.addTextToStore("note.txt", "a text file", [])
      }),
      StoreLive.layer({ layout: makeStoreLayout(root) })
    )))
    const inputs = drvFiles.filter((f) => inputsOf(f).srcs === 0 && inputsOf(f).drvs === 0)
    await runTsnixBatch(inputs.map((f) => ({ args: ["--store", root, "derivation", "add"], stdinFile: jsonOf(f) })))
    const [added] = await runTsnixBatch([{ args: ["--store", root, "derivation", "add"], stdinFile: jsonOf(level1) }])
    expect(added!.stderr).toBe("")
    expect(added!.stdout.toString()).toBe(`/nix/store/${level1}\n`)
    const [refs] = await runTsnixBatch([["--store", root, "-q", "--references", `/nix/store/${level1}`]])
    expect(refs!.stdout.toString().trim().split("\n")).toHaveLength(inputsOf(level1).srcs + inputsOf(level1).drvs)
  })
})
