import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Buffer } from "node:buffer"
import { Effect, Either, Layer } from "effect"
import { parseDerivation } from "../../../src/core/derivation/index.js"
import { layer, layerTest } from "../../../src/stores/local/derivations.js"
import { makeStoreLayout } from "../../../src/core/storeLayout.js"
import { Derivations } from "../../../src/services/Derivations.js"
import { goldenAllJson, goldenDrvs, goldenIndex } from "../../core/derivation/golden.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-drv-"))
fs.mkdirSync(path.join(root, "nix/store"), { recursive: true })
for (const g of goldenDrvs) fs.writeFileSync(path.join(root, g.storePath), g.bytes)
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
const live = layer(makeStoreLayout(root)).pipe(Layer.provide(NodeFileSystem.layer))
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1")
const pathOf = (file: string) => goldenIndex.find(([f]) => f === file)![1]
const level2 = pathOf("deps")
const level1 = goldenDrvs.find((g) => g.storePath.endsWith("-level1.drv"))!.storePath

describe("Derivations (live layer on a chroot store)", () => {
  it.effect("reads a store path and a plain file", () =>
    Effect.gen(function*() {
      const d = yield* Derivations
      const fromStore = yield* d.read(level2)
      expect(fromStore.name).toBe("level2")
      const file = path.join(root, level2)
      const fromFile = yield* d.read(file)
      expect(text(yield* d.print(fromFile))).toBe(text(fs.readFileSync(file)))
      const missing = yield* Effect.flip(d.read("/nix/store/00000000000000000000000000000000-nope.drv"))
      expect(missing._tag).toBe("DerivationReadError")
      const junk = path.join(root, "junk.drv")
      fs.writeFileSync(junk, "Derive([")
      const bad = yield* Effect.flip(d.read(junk))
      expect(bad).toMatchObject({ _tag: "DerivationParseError", file: junk, offset: 8 })
    }).pipe(Effect.provide(live)))

  it.effect("show-derivation prints Nix's bytes for several paths", () =>
    Effect.gen(function*() {
      const d = yield* Derivations
      const shown = yield* d.showDerivation(goldenIndex.map(([, p]) => p))
      expect(text(shown.bytes)).toBe(text(goldenAllJson))
      expect(Object.keys(shown.json)).toHaveLength(goldenIndex.length)
    }).pipe(Effect.provide(live)))

  it.effect("validates derivations whose inputs are read from the store, and computes Nix's output paths", () =>
    Effect.gen(function*() {
      const d = yield* Derivations
      for (const [, p] of goldenIndex) {
        const drv = yield* d.read(p)
        yield* d.validate(drv)
        const paths = yield* d.outputPaths(drv)
        for (const [name, o] of drv.outputs) expect(paths.get(name)).toBe(o.path)
        expect((yield* d.storePath(drv)).path).toBe(p)
      }
    }).pipe(Effect.provide(live)))

  it.effect("rejects a derivation whose declared output path is not the computed one", () =>
    Effect.gen(function*() {
      const d = yield* Derivations
      const drv = yield* d.read(level1)
      const outputs = new Map(drv.outputs)
      outputs.set("out", { path: "/nix/store/00000000000000000000000000000000-level1", hashAlgo: "", hash: "" })
      const e = yield* Effect.flip(d.validate({ ...drv, outputs }))
      expect(e._tag).toBe("DerivationValidationError")
      expect(e.message).toContain("should be '/nix/store/az2wpnf5ij7bi0sw5iy3l8d54s5nnqlz-level1'")
      // Changing an input changes the computed paths: swap an input drv's requested outputs.
      const inputDrvs = new Map(drv.inputDrvs)
      const multi = [...inputDrvs.keys()].find((k) => k.endsWith("-multi.drv"))!
      inputDrvs.set(multi, ["dev"])
      expect((yield* Effect.flip(d.validate({ ...drv, inputDrvs })))._tag).toBe("DerivationValidationError")
    }).pipe(Effect.provide(live)))

  it.effect("reads show-derivation JSON (keyed and bare) back to the same .drv", () =>
    Effect.gen(function*() {
      const d = yield* Derivations
      for (const g of goldenDrvs) {
        const [entry] = yield* d.fromJson(g.json)
        expect(entry!.path).toBe(g.storePath)
        const info = yield* d.storePath(entry!.drv)
        expect(info.path).toBe(g.storePath)
        expect(text(info.bytes)).toBe(text(g.bytes))
        yield* d.validate(entry!.drv)
        // The bare form of the same derivation.
        const bare = JSON.parse(Buffer.from(g.json).toString("latin1"))[g.storePath]
        if (!/[\x80-\xff]/.test(JSON.stringify(bare))) {
          const [b] = yield* d.fromJson(Buffer.from(JSON.stringify({ ...bare, name: entry!.drv.name })))
          expect(b!.path).toBeUndefined()
          expect(text((yield* d.storePath(b!.drv)).bytes)).toBe(text(g.bytes))
        }
      }
      const e = yield* Effect.flip(d.fromJson(Buffer.from(`{"outputs": {}, "inputSrcs": 3}`)))
      expect(e._tag).toBe("DerivationJsonError")
      expect((yield* Effect.flip(d.fromJson(Buffer.from("{")))).reason).toContain("not JSON")
    }).pipe(Effect.provide(live)))
})

describe("Derivations (test layer)", () => {
  const files = goldenDrvs.map((g) => [g.storePath, g.bytes] as const)

  it.effect("memoises input lookups of a caller-supplied resolver", () =>
    Effect.gen(function*() {
      const d = yield* Derivations
      const calls = new Map<string, number>()
      const resolve = (p: string) => {
        calls.set(p, (calls.get(p) ?? 0) + 1)
        return d.read(p)
      }
      const drv = yield* d.read(level2)
      const cache = new Map()
      yield* d.validate(drv, { resolve, cache })
      expect([...calls.values()].every((n) => n === 1)).toBe(true)
      expect(calls.size).toBe(7) // level1, multi, simple, 2×same, flat-sha256, rec-sha1, each once
      yield* d.hashModulo(drv, { resolve, cache })
      expect([...calls.values()].every((n) => n === 1)).toBe(true)
    }).pipe(Effect.provide(layerTest(files))))

  it.effect("reports missing inputs and cycles as typed errors", () => {
    const a = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a.drv"
    const b = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b.drv"
    const mk = (dep: string) =>
      Buffer.from(`Derive([("out","/nix/store/x-a","","")],[("${dep}",["out"])],[],"s","b",[],[])`, "latin1")
    return Effect.gen(function*() {
      const d = yield* Derivations
      const drvA = Either.getOrThrow(parseDerivation(mk(a), { file: a }))
      const e = yield* Effect.flip(d.hashModulo(drvA))
      expect(e).toMatchObject({ _tag: "DerivationResolveError", reason: "input derivations form a cycle" })
      const lonely = Either.getOrThrow(
        parseDerivation(mk("/nix/store/cccccccccccccccccccccccccccccccc-c.drv"), { name: "l" })
      )
      expect((yield* Effect.flip(d.outputPaths(lonely)))._tag).toBe("DerivationReadError")
    }).pipe(Effect.provide(layerTest([[a, mk(b)], [b, mk(a)]])))
  })
})
