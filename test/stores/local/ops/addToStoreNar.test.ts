/**
 * Store.addToStoreNar (src/stores/local/ops/addToStoreNar.ts): a path from
 * its info and NAR, with the hash and size checked; and the temporary roots a
 * program holds, released with the store layer's scope.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { toRealPath } from "../../../../src/core/storeLayout.js"
import { GarbageCollector } from "../../../../src/services/GcStore.js"
import { LocalStore } from "../../../../src/services/LocalStore.js"
import { Store } from "../../../../src/services/Store.js"
import * as StoreFromUri from "../../../../src/stores/fromUri.js"
import * as GcLayer from "../../../../src/stores/local/gc/layer.js"
import { removeTree } from "../../../../src/stores/local/ops/removeTree.js"

const collect = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

const tempRoot = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-nar-add-"))),
  (d) => Effect.ignore(removeTree(d))
)

const storeAt = (dir: string) => StoreFromUri.layer(`local?root=${dir}`, { fsyncMetadata: false })

describe("addToStoreNar", () => {
  it.scoped("copies a path between stores with its info; a NAR that does not match the info adds nothing", () =>
    Effect.gen(function*() {
      const a = yield* tempRoot
      const b = yield* tempRoot
      const src = path.join(a, "src.txt")
      fs.writeFileSync(src, "some bytes\n")
      // In store A: a path and one referring to it; their infos and NARs.
      const copied = yield* Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          const lib = yield* store.addToStore(src)
          const app = yield* store.addTextToStore("app", `uses ${lib}\n`, [lib])
          const out = []
          for (const p of [lib, app]) {
            const info = Option.getOrThrow(yield* store.queryPathInfo(p))
            out.push({ info, nar: yield* collect(store.narFromPath(p)) })
          }
          return out
        }),
        storeAt(a)
      )
      yield* Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          const local = yield* LocalStore
          const [lib, app] = copied as [typeof copied[0], typeof copied[0]]
          // A reference that is not valid yet: refused, nothing left.
          const dangling = yield* Effect.flip(store.addToStoreNar(app.info, Stream.make(new Uint8Array(app.nar))))
          expect(dangling._tag).toBe("DanglingReferenceError")
          // A NAR whose bytes differ from the info's hash: HashMismatchError, nothing registered or left.
          // (One bit of the file's contents: still a well-formed NAR.)
          const flipped = new Uint8Array(lib.nar)
          const at = lib.nar.indexOf("some bytes")
          flipped[at] = (flipped[at] as number) ^ 1
          const bad = yield* Effect.flip(store.addToStoreNar(lib.info, Stream.make(flipped)))
          expect(bad._tag).toBe("HashMismatchError")
          const short = yield* Effect.flip(
            store.addToStoreNar(
              { ...lib.info, narSize: lib.info.narSize + 1 },
              Stream.make(new Uint8Array(lib.nar))
            )
          )
          expect(short._tag).toBe("HashMismatchError")
          expect(yield* store.queryAllValidPaths).toEqual([])
          const entries = fs.readdirSync(local.layout.realStoreDir).filter((n) =>
            n !== ".links" && !n.endsWith(".lock")
          )
          expect(entries).toEqual([])
          // The real thing: both paths, same infos, same NARs; adding again is a no-op.
          yield* store.addToStoreNar(lib.info, Stream.make(new Uint8Array(lib.nar)))
          yield* store.addToStoreNar(app.info, Stream.make(new Uint8Array(app.nar)))
          yield* store.addToStoreNar(app.info, Stream.fail("not read"))
          for (const { info, nar } of copied) {
            const got = Option.getOrThrow(yield* store.queryPathInfo(info.path))
            expect([got.narHash, got.narSize, got.references, got.ca]).toEqual([
              info.narHash,
              info.narSize,
              info.references,
              info.ca
            ])
            expect((yield* collect(store.narFromPath(info.path))).equals(nar)).toBe(true)
          }
          expect((yield* store.verifyStore({ checkContents: true })).errors).toBe(false)
        }),
        storeAt(b)
      )
    }))
})

describe("temporary roots", () => {
  it.scoped("are held by the store layer's scope: once it closes, a collector can take what the program added", () =>
    Effect.gen(function*() {
      const dir = yield* tempRoot
      const withGc = GcLayer.layer({ gcRuntimeRoots: false }).pipe(Layer.provideMerge(storeAt(dir)))
      // One unit of work of a long-running program: what it adds stays while the unit runs...
      const first = yield* Effect.provide(
        Effect.gen(function*() {
          const added = yield* (yield* Store).addTextToStore("scratch", "temporary\n", [])
          return { added, collected: (yield* (yield* GarbageCollector).collectGarbage()).paths }
        }),
        withGc
      )
      expect(first.collected).toEqual([])
      // ...and once its store layer's scope has closed, the next collection takes it.
      const second = yield* Effect.provide(
        Effect.gen(function*() {
          const r = yield* (yield* GarbageCollector).collectGarbage()
          return { paths: r.paths, exists: fs.existsSync(toRealPath((yield* LocalStore).layout, first.added)) }
        }),
        withGc
      )
      expect(second).toEqual({ paths: [first.added], exists: false })
    }))
})
