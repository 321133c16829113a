/**
 * The Store conformance suite (src/testing/conformance.ts) against the local
 * store obtained through the URI factory, once with its bulk SQL closure and
 * topological sort and once with the generic ones derived from the queries.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { toRealPath } from "../../../../src/core/storeLayout.js"
import { LocalStore } from "../../../../src/services/LocalStore.js"
import { Store } from "../../../../src/services/Store.js"
import * as StoreFromUri from "../../../../src/stores/fromUri.js"
import { removeTree } from "../../../../src/stores/local/ops/removeTree.js"
import { storeConformance } from "../../../../src/testing/conformance.js"
import { goldenBytes, goldenPaths } from "./golden.js"
import { localLayoutHooks } from "../../localLayoutHooks.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../golden")

/** A fresh local store, through the URI factory: `local?root=DIR` in a temporary directory. */
const viaUri = (options: StoreFromUri.StoreLayerOptions = {}) =>
  Layer.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-conformance-"))),
      (dir) => Effect.ignore(removeTree(dir))
    ),
    (dir) => StoreFromUri.layer(`local?root=${dir}`, { fsyncMetadata: false, ...options })
  ))

const hooks = {
  golden,
  ...localLayoutHooks
}

storeConformance("local store (local?root=…)", viaUri(), hooks)
storeConformance("local store, generic closure and topological sort", viaUri({ generic: true }), hooks)

describe("generic closure and topological sort", () => {
  it.effect("agree with the local store's SQL on the golden store, in every direction and option", () =>
    Effect.gen(function*() {
      const exportNar = new Uint8Array(goldenBytes("export.nar"))
      const answers = (layer: Layer.Layer<Store, unknown>) =>
        Effect.provide(
          Effect.gen(function*() {
            const store = yield* Store
            const all = yield* store.importPaths(Stream.make(exportNar))
            const out: Array<unknown> = []
            for (const p of all) {
              for (const direction of ["references", "referrers"] as const) {
                for (const includeOutputs of [false, true]) {
                  for (const includeDerivers of [false, true]) {
                    out.push(yield* store.computeClosure([p], { direction, includeOutputs, includeDerivers }))
                  }
                }
              }
            }
            out.push(yield* store.topoSortPaths(all))
            out.push(yield* Effect.either(store.computeClosure([`${store.storeDir}/${"0".repeat(32)}-x`])))
            return out
          }),
          layer
        )
      const sql = yield* answers(viaUri())
      const generic = yield* answers(viaUri({ generic: true }))
      expect(generic).toEqual(sql)
      expect(sql.length).toBeGreaterThan(goldenPaths["top"] === undefined ? 0 : 8)
    }))

  it.effect("deletePaths refuses a path that valid paths outside the set refer to (local store)", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-conformance-"))),
        (d) => Effect.ignore(removeTree(d))
      )
      const layer = StoreFromUri.layer(`local?root=${dir}`, { fsyncMetadata: false })
      // Imported by one store session, whose temporary roots go when it closes...
      yield* Effect.provide(
        Effect.flatMap(Store, (store) => store.importPaths(Stream.make(new Uint8Array(goldenBytes("export.nar"))))),
        layer
      )
      // ...so that another one sees only the references.
      yield* Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          const local = yield* LocalStore
          const leaf = goldenPaths["leaf"] as string
          const e = yield* Effect.flip(local.deletePaths([leaf]))
          expect(e._tag).toBe("PathInUseError")
          expect(yield* store.isValidPath(leaf)).toBe(true)
          expect(fs.existsSync(toRealPath(local.layout, leaf))).toBe(true)
          // A path this process holds as a temporary root is refused as such.
          yield* store.addTempRoot(goldenPaths["top"] as string)
          const e2 = yield* Effect.flip(local.deletePaths([goldenPaths["top"] as string]))
          expect(e2._tag).toBe("PathIsTempRootError")
        }),
        layer
      )
    }).pipe(Effect.scoped))
})
