/** Shared helpers for the garbage-collector tests: the Nix-2.8 golden store rebuilt in tsnix. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Layer, Stream } from "effect"
import type { Scope } from "effect"
import * as GcLive from "../../../../src/stores/local/gc/layer.js"
import * as StoreLive from "../../../../src/stores/local/layer.js"
import type { GcSettings } from "../../../../src/stores/local/gc/context.js"
import { makeStoreLayout, type StoreLayout } from "../../../../src/core/storeLayout.js"
import { GarbageCollector } from "../../../../src/services/GcStore.js"
import { Store } from "../../../../src/services/Store.js"
import { removeTree } from "../../../../src/stores/local/ops/removeTree.js"

/** golden/gc. */
export const goldenDir = path.resolve(__dirname, "../../../../golden/gc")

/** Lines of a golden output file (empty file → []). */
export const goldenLines = (name: string): Array<string> => {
  const t = fs.readFileSync(path.join(goldenDir, "nix", name), "utf8")
  return t === "" ? [] : t.replace(/\n$/, "").split("\n")
}

/** name → path (drv.dep, src, added, refto, junk, …) from golden/gc/nix/names.txt. */
export const goldenNames = (): Record<string, string> =>
  Object.fromEntries(goldenLines("names.txt").map((l) => l.split(" ") as [string, string]))

interface LayoutJson {
  readonly links: ReadonlyArray<{ readonly link: string; readonly target: string }>
  readonly invalidEntries: ReadonlyArray<
    { readonly path: string; readonly files: Record<string, string> | string | null }
  >
}

/** A temporary base directory (store under `root/`), removed with the scope. */
export const tempBase = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-gc-"))),
  (dir) => Effect.ignore(removeTree(dir))
)

/** Store + collector layers for the store rooted at `base/root`. */
export const storeLayers = (layout: StoreLayout, settings: Partial<GcSettings> = {}) =>
  GcLive.layer({ gcRuntimeRoots: false, ...settings }).pipe(
    Layer.provideMerge(StoreLive.layer({ layout, fsyncMetadata: false }))
  )

/** Fills the store at `layout` (under `base`) with the golden store: paths, invalid entries, roots. */
export const populateGolden = (base: string, layout: StoreLayout) =>
  Effect.gen(function*() {
    const store = yield* Store
    const bytes = fs.readFileSync(path.join(goldenDir, "store.export"))
    yield* store.importPaths(Stream.make(new Uint8Array(bytes)))
    const json = JSON.parse(fs.readFileSync(path.join(goldenDir, "layout.json"), "utf8")) as LayoutJson
    for (const e of json.invalidEntries) {
      const real = path.join(layout.root, e.path)
      if (e.files === null) fs.writeFileSync(real, "")
      else if (typeof e.files === "string") fs.writeFileSync(real, e.files)
      else {
        fs.mkdirSync(real)
        for (const [n, c] of Object.entries(e.files)) fs.writeFileSync(path.join(real, n), c)
      }
    }
    for (const l of json.links) {
      const link = path.join(base, l.link)
      fs.mkdirSync(path.dirname(link), { recursive: true })
      // The store made Nix's gcroots/profiles link already (the golden has it too).
      if (fs.lstatSync(link, { throwIfNoEntry: false }) !== undefined) fs.rmSync(link)
      fs.symlinkSync(l.target.split("@BASE@").join(base), link)
    }
  })

/** Runs `f` against a fresh golden store with the given settings. */
export const withGoldenStore = <A, E>(
  settings: Partial<GcSettings>,
  f: (base: string, layout: StoreLayout) => Effect.Effect<A, E, GarbageCollector | Store | Scope.Scope>
) =>
  Effect.scoped(Effect.gen(function*() {
    const base = yield* tempBase
    const layout = makeStoreLayout(path.join(base, "root"))
    // Populate with one store instance (its temporary roots die with it), collect with another.
    yield* Effect.scoped(
      Effect.provide(populateGolden(base, layout), StoreLive.layer({ layout, fsyncMetadata: false }))
    )
    return yield* Effect.provide(f(base, layout), storeLayers(layout, settings))
  }))

/** Replaces the base directory by `@BASE@`, as the golden files do. */
export const unbase = (base: string, s: string): string => s.split(base).join("@BASE@")
