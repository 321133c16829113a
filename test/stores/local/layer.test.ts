/** The local Store layer: layerTest and layer({layout, readOnly}) over a store Nix wrote. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as StoreLive from "../../../src/stores/local/layer.js"
import { makeStoreLayout } from "../../../src/core/storeLayout.js"
import { Store } from "../../../src/services/Store.js"
import { LocalStore } from "../../../src/services/LocalStore.js"
import { Lock } from "../../../src/services/Lock.js"
import * as LockTest from "../../../src/testing/LockTest.js"
import { Derivations } from "../../../src/services/Derivations.js"
import * as DerivationsLive from "../../../src/stores/local/derivations.js"

const dbGolden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../golden/db")
const paths = Object.fromEntries(
  fs.readFileSync(path.join(dbGolden, "paths.txt"), "utf8").trim().split("\n").map((l) =>
    l.split("=") as [string, string]
  )
)

const copies: Array<string> = []
afterAll(() => copies.forEach((c) => fs.rmSync(c, { recursive: true, force: true })))

const fixtureCopy = () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-layer-"))
  copies.push(root)
  fs.cpSync(path.join(dbGolden, "nix-store-fixture"), root, { recursive: true, verbatimSymlinks: true })
  return root
}

describe("Store layer", () => {
  it.effect("layer({readOnly}) over a Nix-written store: answers queries, verifies, refuses writes", () =>
    Effect.gen(function*() {
      const store = yield* Store
      expect(yield* store.isValidPath(paths["top"] as string)).toBe(true)
      const info = Option.getOrThrow(yield* store.queryPathInfo(paths["top"] as string))
      expect([...info.references].sort()).toEqual([paths["leaf"], paths["mid"]].sort())
      yield* store.verifyPath(paths["dir"] as string)
      const before = fs.readdirSync((yield* LocalStore).layout.realStoreDir).sort()
      const e = yield* Effect.flip(store.addTextToStore("x", "y", []))
      expect(e._tag).toBe("ReadOnlyStoreError")
      const src = path.join((yield* LocalStore).layout.root, "src.txt")
      fs.writeFileSync(src, "z")
      expect((yield* Effect.flip(store.addToStore(src)))._tag).toBe("ReadOnlyStoreError")
      expect((yield* Effect.flip((yield* LocalStore).deletePaths([paths["top"] as string])))._tag).toBe(
        "ReadOnlyStoreError"
      )
      // Refused before touching anything: no temporary copies, no lock files.
      expect(fs.readdirSync((yield* LocalStore).layout.realStoreDir).sort()).toEqual(before)
    }).pipe(Effect.provide(StoreLive.layer({ layout: makeStoreLayout(fixtureCopy()), readOnly: true }))))

  it.effect("layerTest gives an empty store in a fresh directory each time", () =>
    Effect.gen(function*() {
      const store = yield* Store
      expect(yield* store.queryAllValidPaths).toEqual([])
      const p = yield* store.addTextToStore("foo", "bar", [])
      expect(p).toBe("/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo")
      expect((yield* LocalStore).layout.root.startsWith(os.tmpdir())).toBe(true)
    }).pipe(Effect.provide(StoreLive.layerTest)))

  it.scoped("layerWith takes the Lock from its environment: the in-memory test Lock stands in for flock", () =>
    Effect.gen(function*() {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-layerwith-"))
      const layout = makeStoreLayout(root)
      const world = LockTest.makeWorld()
      const layer = StoreLive.layerWith({ layout, fsyncMetadata: false }).pipe(
        Layer.provideMerge(LockTest.layer({ world, layout })),
        Layer.provide(DerivationsLive.layerTest([]))
      )
      const p = yield* Effect.provide(
        Effect.gen(function*() {
          const p = yield* (yield* Store).addTextToStore("foo", "bar", [])
          // The temp root went to the in-memory lock table, not to a file.
          expect((yield* (yield* Lock).readTempRoots()).roots.has(p)).toBe(true)
          return p
        }),
        layer
      )
      expect(p).toBe("/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo")
      const tempRoots = path.join(layout.stateDir, "temproots")
      expect(fs.existsSync(tempRoots) ? fs.readdirSync(tempRoots) : []).toEqual([])
      fs.rmSync(root, { recursive: true, force: true })
    }))

  it.scoped("layerWith takes Derivations from its environment: a .drv added is parsed by that service", () =>
    Effect.gen(function*() {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-layerdrv-"))
      const layout = makeStoreLayout(root)
      const out = "/nix/store/00000000000000000000000000000000-foo"
      const drv = `Derive([("out","${out}","","")],[],[],"x86_64-linux","/bin/sh",[],[("out","${out}")])`
      const parsed: Array<string> = []
      const base = DerivationsLive.makeWith(layout.storeDir, () => Effect.die("not read"))
      const counting = Layer.succeed(Derivations, {
        ...base,
        parse: (bytes, options) =>
          Effect.zipRight(Effect.sync(() => parsed.push(options?.file ?? "")), base.parse(bytes, options))
      })
      const layer = StoreLive.layerWith({ layout, fsyncMetadata: false }).pipe(
        Layer.provideMerge(LockTest.layer({ layout })),
        Layer.provide(counting)
      )
      const outputs = yield* Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          const p = yield* store.addTextToStore("foo.drv", drv, [])
          // A malformed .drv is refused by the same service.
          const bad = yield* Effect.flip(store.addTextToStore("bad.drv", "Derive(", []))
          expect(bad._tag).toBe("DerivationParseError")
          return yield* store.queryDerivationOutputMap(p)
        }),
        layer
      )
      expect(outputs).toEqual({ out })
      expect(parsed).toEqual(["foo.drv", "bad.drv"])
      fs.rmSync(root, { recursive: true, force: true })
    }))
})
