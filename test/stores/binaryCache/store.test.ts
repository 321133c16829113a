import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseNarInfo } from "../../../src/core/cache/narInfo.js"
import { hashBytes, printHashWithAlgo } from "../../../src/core/hash.js"
import { openBinaryCache } from "../../../src/stores/binaryCache/open.js"
import type { BinaryCacheStore } from "../../../src/stores/binaryCache/store.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../golden/cache")
const sd = "/nix/store"
const key = path.join(golden, "keys/test-1.sec")
const paths = Object.fromEntries(
  fs.readFileSync(path.join(golden, "paths.txt"), "utf8").trim().split("\n").map((l) =>
    l.split("=") as [string, string]
  )
)

const collect = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-cache-test-"))

/** A copy of a golden cache directory (tests must not write into golden/). */
const copyOf = (name: string) => {
  const d = path.join(tmp(), name)
  fs.cpSync(path.join(golden, name), d, { recursive: true })
  return d
}

const files = (dir: string): Array<string> =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) =>
    path.relative(dir, path.join(e.parentPath, e.name))
  ).sort()

/** Copies `ps` (in dependency order) from one cache to another through the Store interface. */
const copyPaths = (from: BinaryCacheStore, to: BinaryCacheStore, ps: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const order = [...(yield* from.topoSortPaths(yield* from.computeClosure(ps)))].reverse()
    for (const p of order) {
      const info = Option.getOrThrow(yield* from.queryPathInfo(p))
      yield* to.addToStoreNar(info, from.narFromPath(p))
    }
    return order
  })

describe("binary cache store over file://", () => {
  it.effect("reads every cache Nix made: infos, closures, NARs decompressed to Nix's bytes", () =>
    Effect.gen(function*() {
      const plain = yield* openBinaryCache(`file://${copyOf("none")}`, sd)
      for (const c of ["xz", "zstd", "bzip2", "br", "gzip", "none"]) {
        const store = yield* openBinaryCache(`file://${copyOf(c)}`, sd)
        const all = yield* store.queryAllValidPaths
        expect(all.length, c).toBeGreaterThanOrEqual(5)
        for (const p of all) {
          const info = Option.getOrThrow(yield* store.queryPathInfo(p))
          const nar = yield* collect(store.narFromPath(p))
          expect(nar.length).toBe(info.narSize)
          expect(printHashWithAlgo(hashBytes("sha256", nar), "nix32")).toBe(printHashWithAlgo(info.narHash, "nix32"))
          if (yield* plain.isValidPath(p)) expect(nar).toEqual(yield* collect(plain.narFromPath(p)))
        }
        expect(yield* store.computeClosure([paths["out"]!])).toEqual([paths["leaf"], paths["mid"], paths["out"]].sort())
        expect(yield* store.isValidPath(paths["out"]!.replace(/-out$/, "-other"))).toBe(false)
        expect(Option.isNone(yield* store.queryPathInfo(paths["out"]!.replace(/-out$/, "-other")))).toBe(true)
        expect(yield* store.queryPathFromHashPart(path.basename(paths["mid"]!).slice(0, 32))).toEqual(
          Option.some(paths["mid"])
        )
      }
    }))

  it.effect("writes with compression=none, secret-key and write-nar-listing exactly the files Nix wrote", () =>
    Effect.gen(function*() {
      const nix = yield* openBinaryCache(`file://${copyOf("none")}`, sd)
      const dir = path.join(tmp(), "mine")
      const mine = yield* openBinaryCache(`file://${dir}?compression=none&secret-key=${key}&write-nar-listing=1`, sd)
      const all = yield* nix.queryAllValidPaths
      yield* copyPaths(nix, mine, all)
      const theirs = path.join(golden, "none")
      expect(files(dir)).toEqual(files(theirs))
      for (const f of files(theirs)) {
        expect(fs.readFileSync(path.join(dir, f), "utf8"), f).toBe(fs.readFileSync(path.join(theirs, f), "utf8"))
      }
      // No temporaries left anywhere.
      expect(files(dir).filter((f) => f.includes(".tmp."))).toEqual([])
    }))

  it.effect(
    "every compression: the narinfos equal Nix's but for the file fields; NARs round-trip",
    () =>
      Effect.gen(function*() {
        const nix = yield* openBinaryCache(`file://${copyOf("none")}`, sd)
        const all = yield* nix.queryAllValidPaths
        for (const c of ["xz", "zstd", "bzip2", "br", "gzip"]) {
          const dir = path.join(tmp(), c)
          const mine = yield* openBinaryCache(`file://${dir}?compression=${c}&secret-key=${key}`, sd)
          yield* copyPaths(nix, mine, all)
          for (const p of all) {
            const f = `${path.basename(p).slice(0, 32)}.narinfo`
            const strip = (t: string) => t.replace(/^(URL|FileHash|FileSize): .*\n/gm, "")
            const text = fs.readFileSync(path.join(dir, f), "utf8")
            expect(strip(text), `${c} ${f}`).toBe(strip(fs.readFileSync(path.join(golden, c, f), "utf8")))
            const ni = Either.getOrThrow(parseNarInfo(sd, text, f))
            expect(ni.compression).toBe(c)
            expect(fs.statSync(path.join(dir, ni.url)).size).toBe(ni.fileSize)
            expect(yield* collect(mine.narFromPath(p))).toEqual(yield* collect(nix.narFromPath(p)))
          }
        }
      }),
    30_000
  )

  it.effect("bad input is refused and nothing is written: hash, size, truncation, garbage, dangling reference", () =>
    Effect.gen(function*() {
      const nix = yield* openBinaryCache(`file://${copyOf("none")}`, sd)
      const dir = path.join(tmp(), "dst")
      const dst = yield* openBinaryCache(`file://${dir}?compression=xz`, sd)
      const before = files(dir)
      const hello = paths["hello"]!
      const info = Option.getOrThrow(yield* nix.queryPathInfo(hello))
      const nar = yield* collect(nix.narFromPath(hello))
      const flipped = Buffer.from(nar)
      flipped[nar.length - 20] = flipped[nar.length - 20]! ^ 1
      const tag = (e: Effect.Effect<void, { _tag: string }>) => Effect.map(Effect.flip(e), (x) => x._tag)
      expect(yield* tag(dst.addToStoreNar(info, Stream.make(flipped)))).toBe("HashMismatchError")
      expect(yield* tag(dst.addToStoreNar({ ...info, narSize: info.narSize + 1 }, Stream.make(nar)))).toBe(
        "HashMismatchError"
      )
      expect(yield* tag(dst.addToStoreNar(info, Stream.make(nar.subarray(0, nar.length - 8))))).toBe("NarParseError")
      expect(yield* tag(dst.addToStoreNar(info, Stream.make(Buffer.concat([nar, Buffer.alloc(8)]))))).toBe(
        "NarParseError"
      )
      expect(yield* tag(dst.addToStoreNar(info, Stream.fail({ _tag: "Boom" })))).toBe("Boom")
      const mid = paths["mid"]!
      const midInfo = Option.getOrThrow(yield* nix.queryPathInfo(mid))
      expect(yield* tag(dst.addToStoreNar(midInfo, nix.narFromPath(mid)))).toBe("DanglingReferenceError")
      expect(files(dir)).toEqual(before)
      expect(yield* dst.isValidPath(hello)).toBe(false)
    }))

  it.effect("a corrupt narinfo, a missing NAR file, a NAR URL leaving the cache: typed errors", () =>
    Effect.gen(function*() {
      const dir = copyOf("none")
      const h = path.basename(paths["hello"]!).slice(0, 32)
      const t = path.basename(paths["tree"]!).slice(0, 32)
      const m = path.basename(paths["mid"]!).slice(0, 32)
      fs.writeFileSync(
        path.join(dir, `${h}.narinfo`),
        fs.readFileSync(path.join(dir, `${h}.narinfo`), "utf8").replace(/NarSize: .*/, "NarSize: 0")
      )
      const tText = fs.readFileSync(path.join(dir, `${t}.narinfo`), "utf8")
      fs.rmSync(path.join(dir, /^URL: (.*)$/m.exec(tText)![1]!))
      fs.writeFileSync(
        path.join(dir, `${m}.narinfo`),
        fs.readFileSync(path.join(dir, `${m}.narinfo`), "utf8").replace(/^URL: .*$/m, "URL: ../../etc/passwd")
      )
      const store = yield* openBinaryCache(`file://${dir}`, sd)
      const e1 = yield* Effect.flip(store.queryPathInfo(paths["hello"]!))
      expect(e1.message).toContain(`NAR info file '${h}.narinfo' is corrupt`)
      const e2 = yield* Effect.flip(collect(store.narFromPath(paths["tree"]!)))
      expect(e2._tag).toBe("NarDumpError")
      const e3 = yield* Effect.flip(collect(store.narFromPath(paths["mid"]!)))
      expect(e3.message).toContain("refusing NAR URL")
    }))

  it.effect("addTextToStore and addToStore give Nix's paths; nix-cache-info for another store dir is refused", () =>
    Effect.gen(function*() {
      const dir = path.join(tmp(), "c")
      const store = yield* openBinaryCache(`file://${dir}?compression=zstd`, sd)
      const nix = yield* openBinaryCache(`file://${copyOf("none")}`, sd)
      const leafText = "leaf\n"
      expect(yield* store.addTextToStore("leaf.txt", leafText, [])).toBe(paths["leaf"])
      const src = path.join(tmp(), "hello.txt")
      fs.writeFileSync(src, "hello\n")
      expect(yield* store.addToStore(src)).toBe(paths["hello"])
      const i1 = Option.getOrThrow(yield* store.queryPathInfo(paths["hello"]!))
      const i2 = Option.getOrThrow(yield* nix.queryPathInfo(paths["hello"]!))
      expect(printHashWithAlgo(i1.narHash, "nix32")).toBe(printHashWithAlgo(i2.narHash, "nix32"))
      expect(fs.readFileSync(path.join(dir, "nix-cache-info"), "utf8")).toBe("StoreDir: /nix/store\n")
      const other = yield* Effect.flip(openBinaryCache(`file://${dir}`, "/other/store"))
      expect(other.message).toBe(
        `binary cache 'file://${dir}' is for Nix stores with prefix '/nix/store', not '/other/store'`
      )
      const bad = yield* Effect.flip(openBinaryCache(`file://${dir}?compression=lz5`, sd))
      expect(bad._tag).toBe("InvalidBinaryCacheUriError")
      const unknown = yield* Effect.flip(openBinaryCache(`file://${dir}?colour=blue`, sd))
      expect(unknown.message).toContain("unknown setting 'colour'")
    }))
})
