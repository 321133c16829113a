/**
 * Property: file names are bytes, end to end. Random trees whose entry names
 * are random byte strings (invalid UTF-8 included; only "/", NUL, "." and
 * ".." excluded) and whose symlink targets are random bytes survive add,
 * dump, restore, export, import, delete and GC, and every NAR tsnix produces
 * for them is the pure encoder's (src/core/nar, which Nix 2.8's golden of
 * golden/names anchors: test/cli/names-cli.test.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, FastCheck as fc, Option, Stream } from "effect"
import { createHash } from "node:crypto"
import { printHashWithAlgo } from "../../../../src/core/hash.js"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { encodeNar, type NarTree } from "../../../../src/core/nar/encode.js"
import { dumpPath } from "../../../../src/io/dump.js"
import { restorePath } from "../../../../src/io/restore.js"
import { walkChunks, type WalkState } from "../../../../src/io/walk.js"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import { GarbageCollector } from "../../../../src/services/GcStore.js"
import { Store } from "../../../../src/services/Store.js"
import { removeTreeSync } from "../../../../src/stores/local/ops/removeTree.js"
import { storeLayers, tempBase } from "../gc/helpers.js"
import { readTree } from "../../../io/helpers.js"
import { hexToNarTree, namesBytes, namesTree } from "./namesGolden.js"
import { LocalStore } from "../../../../src/services/LocalStore.js"

const collect = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

type Client = typeof import("../../../../src/io/dumpWorkerClient.js")

/** The build's dump worker client (the worker thread only exists there): `npm test` builds first. */
const client = () =>
  Effect.promise(() =>
    import(pathToFileURL(path.resolve(__dirname, "../../../../dist/io/dumpWorkerClient.js")).href) as Promise<Client>
  )

/**
 * The NAR of `p` walked on this thread up to its `at`-th entry, then by a dump
 * worker from there on (the walk's state, names included, crosses to the
 * thread as latin1 strings).
 */
const dumpHandingOff = (p: string, at: number) =>
  Effect.scoped(Effect.gen(function*() {
    const parts: Array<Buffer> = []
    let asked = 0
    const it = walkChunks(Buffer.from(p), { handOff: () => asked++ === at })
    let state: WalkState | undefined
    for (;;) {
      const r = it.next()
      if (r.done === true) {
        state = r.value
        break
      }
      parts.push(Buffer.from(r.value))
    }
    if (state === undefined) throw new Error("the walk ended before the hand-off")
    const worker = (yield* client()).startDumpWorker(p)
    if (worker === undefined) throw new Error("no dump worker in dist/")
    yield* Effect.addFinalizer(() => Effect.promise(() => worker.stop()))
    // Real time (a property's test clock does not move): the thread starts on its own.
    while (!worker.ready()) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
    worker.start(state)
    for (;;) {
      const chunk = yield* worker.next
      if (chunk === undefined) return Buffer.concat(parts)
      parts.push(Buffer.from(chunk))
      worker.release()
    }
  }))

/** The number of entries in a tree (the walk's hand-off points). */
const entryCount = (t: NarTree): number =>
  t._tag === "Directory" ? t.entries.reduce((n, e) => n + 1 + entryCount(e.node), 0) : 0

/** Entry names of `minLength`..`maxLength` bytes: any bytes but "/" and NUL (mapped to others), not "." or "..". */
const namesOf = (minLength: number, maxLength: number) =>
  fc.uint8Array({ minLength, maxLength })
    .map((b) => Buffer.from(b.map((x) => (x === 0 || x === 0x2f ? 0x80 | (x + 1) : x))))
    .filter((b) => !(b.equals(Buffer.from(".")) || b.equals(Buffer.from(".."))))
const nameArb = namesOf(1, 12)
/** Up to NAME_MAX (255 bytes). */
const longNameArb = namesOf(240, 255)
/** Names biased to the bytes that tell byte order from UTF-16 or locale order. */
const trickyNameArb = fc.array(
  fc.constantFrom(0x41, 0x5a, 0x61, 0x7a, 0x80, 0xbf, 0xc3, 0xa9, 0x28, 0xe2, 0xef, 0xf0, 0x9f, 0xfe, 0xff),
  { minLength: 1, maxLength: 4 }
)
  .map((a) => Buffer.from(a))
const targetArb = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) =>
  Buffer.from(b.map((x) => (x === 0 ? 0xff : x)))
)

const treeArb: fc.Arbitrary<NarTree> = fc.letrec<{ node: NarTree; dir: NarTree }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ executable: fc.boolean(), contents: fc.uint8Array({ maxLength: 64 }) }).map((r) => ({
      _tag: "Regular" as const,
      ...r
    })),
    targetArb.map((target) => ({ _tag: "Symlink" as const, target })),
    tie("dir")
  ),
  dir: fc.uniqueArray(
    fc.record({
      name: fc.oneof({ arbitrary: nameArb, weight: 5 }, { arbitrary: trickyNameArb, weight: 4 }, {
        arbitrary: longNameArb,
        weight: 1
      }),
      node: tie("node")
    }),
    {
      maxLength: 6,
      selector: (e) => e.name.toString("hex")
    }
  ).map((entries) => ({ _tag: "Directory" as const, entries }))
})).dir

/** Creates `tree` at byte path `p`. */
const materialize = (p: Buffer, tree: NarTree): void => {
  switch (tree._tag) {
    case "Regular":
      fs.writeFileSync(p, tree.contents, { flag: "wx", mode: tree.executable ? 0o755 : 0o644 })
      return
    case "Symlink":
      fs.symlinkSync(Buffer.from(tree.target as Uint8Array), p)
      return
    case "Directory":
      fs.mkdirSync(p)
      for (const e of tree.entries) materialize(Buffer.concat([p, Buffer.from("/"), e.name as Uint8Array]), e.node)
  }
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

/** Entries of a real store directory that are not lock files or `.links`, as hex. */
const storeEntries = (real: string) =>
  fs.readdirSync(real, { encoding: "buffer" }).filter((b) =>
    !b.toString("latin1").endsWith(".lock") && b.toString("latin1") !== ".links"
  ).map((b) => b.toString("hex"))

/** Runs every step on `tree` and checks each against the pure encoder's NAR. */
const roundTrip = (tree: NarTree, handOffAt: number) =>
  Effect.scoped(Effect.gen(function*() {
    const base = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-names-"))),
      (d) => Effect.sync(() => removeTreeSync(d))
    )
    const nar = Buffer.from(encodeNar(tree))
    const src = path.join(base, "tree")
    materialize(Buffer.from(src), tree)
    // Dump: on this thread, and handed off to the dump worker at an entry.
    expect((yield* collect(dumpPath(src))).equals(nar)).toBe(true)
    const entries = entryCount(tree)
    if (entries > 0) expect((yield* dumpHandingOff(src, handOffAt % entries)).equals(nar)).toBe(true)
    // Restore.
    const restored = path.join(base, "restored")
    yield* restorePath(restored, Stream.make(nar))
    expect(Buffer.from(encodeNar(readTree(restored))).equals(nar)).toBe(true)
    // Add (recursive sha256 and sha1), export; import into another store; delete; GC. Each store
    // session's temporary roots die with it: deleting and collecting run in a later session.
    const s1 = makeStoreLayout(path.join(base, "s1"))
    const s2 = makeStoreLayout(path.join(base, "s2"))
    const { p, p1, exported } = yield* Effect.scoped(Effect.provide(
      Effect.gen(function*() {
        const store = yield* Store
        const p = yield* store.addToStore(src)
        const p1 = yield* store.addToStore(src, { method: "recursive", algo: "sha1" })
        for (const q of [p, p1]) {
          const info = Option.getOrThrow(yield* store.queryPathInfo(q))
          expect([printHashWithAlgo(info.narHash, "base16"), info.narSize]).toEqual([
            `sha256:${sha256(nar)}`,
            nar.length
          ])
          expect((yield* collect(store.narFromPath(q))).equals(nar)).toBe(true)
        }
        expect((yield* store.verifyStore({ checkContents: true })).errors).toBe(false)
        return { p, p1, exported: yield* collect(store.exportPaths([p])) }
      }),
      storeLayers(s1)
    ))
    yield* Effect.scoped(Effect.provide(
      Effect.gen(function*() {
        expect((yield* (yield* LocalStore).deletePaths([p1])).deleted).toEqual([p1])
        expect((yield* (yield* GarbageCollector).collectGarbage()).paths).toEqual([p])
        expect(storeEntries(s1.realStoreDir)).toEqual([])
      }),
      storeLayers(s1)
    ))
    yield* Effect.scoped(Effect.provide(
      Effect.gen(function*() {
        const store = yield* Store
        expect(yield* store.importPaths(Stream.make(exported))).toEqual([p])
        expect((yield* collect(store.narFromPath(p))).equals(nar)).toBe(true)
        yield* store.verifyPath(p)
      }),
      storeLayers(s2)
    ))
    yield* Effect.scoped(Effect.provide(
      Effect.gen(function*() {
        expect((yield* (yield* GarbageCollector).collectGarbage()).paths).toEqual([p])
        expect(storeEntries(s2.realStoreDir)).toEqual([])
      }),
      storeLayers(s2)
    ))
  }))

describe("names are bytes end to end", () => {
  it.scopedLive("the golden tree (names Nix 2.8 dumped) round-trips, and its NAR is Nix's", () =>
    Effect.gen(function*() {
      const tree = hexToNarTree(namesTree)
      expect(Buffer.from(encodeNar(tree)).equals(namesBytes("tree.nar"))).toBe(true)
      yield* roundTrip(tree, 0)
      // Handed off to the dump worker at every entry.
      const src = path.join(yield* tempBase, "tree")
      materialize(Buffer.from(src), tree)
      for (let at = 0; at < entryCount(tree); at++) {
        expect((yield* dumpHandingOff(src, at)).equals(namesBytes("tree.nar")), `at ${at}`).toBe(true)
      }
    }))

  it.effect.prop(
    "random byte-string names (invalid UTF-8 included) survive dump, restore, add, export, import, delete and GC",
    [treeArb, fc.nat()],
    ([tree, at]) => roundTrip(tree, at),
    { fastCheck: { numRuns: 25 } }
  )
})
