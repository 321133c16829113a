/**
 * addToStore against Nix 2.8 (golden/names): a flat add keeps the execute
 * bit (mode 0555, NAR with `executable`) for every hash algorithm; a tree
 * whose names are not valid UTF-8 is added, dumped and exported byte for
 * byte; a failure in the middle of an add leaves no temporary behind.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Option, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { layerTest } from "../../../../src/stores/local/layer.js"
import { Store } from "../../../../src/services/Store.js"
import { canonicalisePath } from "../../../../src/stores/local/ops/canonicalise.js"
import { isTempName, scopedTempPath } from "../../../../src/stores/local/ops/tempPath.js"
import { toNix32Form } from "../../../../src/stores/local/ops/verify.js"
import { flatAdds, flatSource, materializeNamesTree, namesBytes, namesTreeFacts } from "./namesGolden.js"
import { LocalStore } from "../../../../src/services/LocalStore.js"
import { Lock } from "../../../../src/services/Lock.js"

const collect = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

const tempSrc = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-add-src-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Every entry of the real store directory but `.links` (the store's own), as bytes in hex (a leftover may have any name). */
const storeEntries = (realStoreDir: string): Array<string> =>
  fs.existsSync(realStoreDir) ?
    fs.readdirSync(realStoreDir, { encoding: "buffer" }).filter((b) => b.toString("latin1") !== ".links")
      .map((b) => b.toString("hex")) :
    []

describe("addToStore", () => {
  it.scoped("flat: path, NAR hash, NAR size, mode and export as Nix 2.8, executable or not, for every algorithm", () =>
    Effect.gen(function*() {
      const dir = yield* tempSrc
      for (const [kind, mode] of Object.entries(flatSource.modes)) {
        const f = path.join(dir, kind)
        fs.writeFileSync(f, flatSource.contents)
        fs.chmodSync(f, mode)
      }
      yield* Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          expect(flatAdds.length).toBe(12)
          for (const g of flatAdds) {
            const p = yield* store.addToStore(path.join(dir, g.kind), { method: "flat", algo: g.algo })
            const what = `${g.algo} ${g.kind}`
            expect(p, what).toBe(g.path)
            const info = Option.getOrThrow(yield* store.queryPathInfo(p))
            expect(toNix32Form(info.narHash), what).toBe(g.narHash)
            expect(info.narSize, what).toBe(g.narSize)
            expect((fs.statSync(path.join((yield* LocalStore).layout.root, p)).mode & 0o7777).toString(8), what).toBe(
              g.mode
            )
            expect((yield* collect(store.exportPaths([p]))).equals(g.exportBytes), what).toBe(true)
            // The registered hash is the stored file's: verify agrees.
            yield* store.verifyPath(p)
          }
        }),
        layerTest
      )
    }))

  it.scoped("a tree with names that are not valid UTF-8: Nix's paths, hashes, sizes, NAR and export", () =>
    Effect.gen(function*() {
      const dir = yield* tempSrc
      const src = path.join(dir, "tree")
      materializeNamesTree(src)
      yield* Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          const cases = [
            ["add", {}],
            ["fixed-sha256", { method: "recursive", algo: "sha256" }],
            ["fixed-sha1", { method: "recursive", algo: "sha1" }]
          ] as const
          for (const [key, options] of cases) {
            const p = yield* store.addToStore(src, options)
            expect(p, key).toBe(namesTreeFacts[key])
            const info = Option.getOrThrow(yield* store.queryPathInfo(p))
            expect(toNix32Form(info.narHash), key).toBe(namesTreeFacts[`${key}.hash`])
            expect(String(info.narSize), key).toBe(namesTreeFacts[`${key}.size`])
            expect((yield* collect(store.narFromPath(p))).equals(namesBytes("tree.nar")), key).toBe(true)
          }
          const added = namesTreeFacts["add"] as string
          expect((yield* collect(store.exportPaths([added]))).equals(namesBytes("tree-export.nar"))).toBe(true)
          const report = yield* store.verifyStore({ checkContents: true })
          expect(report.errors).toBe(false)
          expect(
            storeEntries((yield* LocalStore).layout.realStoreDir).filter((n) =>
              isTempName(Buffer.from(n, "hex").toString())
            )
          ).toEqual(
            []
          )
        }),
        layerTest
      )
    }))

  it.scoped("a failure in the middle of an add (a FIFO after non-UTF-8 names) leaves no temporary, and nothing registered", () =>
    Effect.gen(function*() {
      const dir = yield* tempSrc
      const src = Buffer.from(path.join(dir, "tree"))
      materializeNamesTree(src)
      // Entries before and after it in byte order ("d\xfe/..." is walked first, "\xff" last).
      execFileSync("mkfifo", [path.join(dir, "tree", "fifo")])
      // Without root, an unreadable file fails the add too (root reads it anyway).
      const asRoot = process.getuid?.() === 0
      if (!asRoot) {
        const unreadable = Buffer.concat([src, Buffer.from("/d\xfe/ok", "latin1")])
        fs.chmodSync(unreadable, 0)
      }
      yield* Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          for (const options of [{}, { method: "recursive", algo: "sha1" }] as const) {
            const e = yield* Effect.flip(store.addToStore(src.toString(), options))
            expect(e.message).toContain(asRoot ? "fifo" : "ok")
            expect(yield* store.queryAllValidPaths).toEqual([])
            expect(
              storeEntries((yield* LocalStore).layout.realStoreDir).filter((n) =>
                !n.endsWith(Buffer.from(".lock").toString("hex"))
              )
            ).toEqual([])
          }
        }),
        layerTest
      )
    }))

  it.scoped("an add's temporary is removed whatever it holds: non-UTF-8 names, canonicalised (read-only)", () =>
    Effect.gen(function*() {
      yield* Effect.provide(
        Effect.gen(function*() {
          fs.mkdirSync((yield* LocalStore).layout.realStoreDir, { recursive: true })
          yield* Effect.scoped(Effect.gen(function*() {
            const temp = yield* scopedTempPath((yield* LocalStore).layout, yield* Lock)
            materializeNamesTree(temp)
            yield* canonicalisePath(temp)
            expect(fs.statSync(temp).mode & 0o777).toBe(0o555)
          }))
          expect(storeEntries((yield* LocalStore).layout.realStoreDir)).toEqual([])
        }),
        layerTest
      )
    }))
})
