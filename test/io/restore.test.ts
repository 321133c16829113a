import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, FastCheck as fc, Stream } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { concatBytes, encodeNar, type NarTree } from "../../src/core/nar/encode.js"
import { NarParseError } from "../../src/core/nar/errors.js"
import { dumpPath } from "../../src/io/dump.js"
import { NarRestoreFsError } from "../../src/core/nar/ioErrors.js"
import { restoreFromSource, restorePath } from "../../src/io/restore.js"
import { byteSourceFromChunks, readExactly } from "../../src/io/source.js"
import { arbTree } from "../core/nar/arbitrary.js"
import { chunked, collectBytes, hex, plain, readTree, tempDir } from "./helpers.js"

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
const file = (contents: string, executable = false): NarTree => ({ _tag: "Regular", executable, contents })
const dir = (...entries: Array<[string | Uint8Array, NarTree]>): NarTree => ({
  _tag: "Directory",
  entries: entries.map(([name, node]) => ({ name, node }))
})
const link = (target: string): NarTree => ({ _tag: "Symlink", target })

/** A temp dir with a sentinel sibling directory `sentinel/keep` next to where targets go. */
const withSentinel = Effect.map(tempDir, (root) => {
  fs.mkdirSync(path.join(root, "sentinel"))
  fs.writeFileSync(path.join(root, "sentinel", "keep"), "keep")
  const check = () => {
    expect(fs.readdirSync(root).sort()).toEqual(["sentinel"])
    expect(fs.readdirSync(path.join(root, "sentinel"))).toEqual(["keep"])
    expect(fs.readFileSync(path.join(root, "sentinel", "keep"), "utf8")).toBe("keep")
  }
  return { root, target: path.join(root, "target"), check }
})

let counter = 0
const fresh = (root: string) => path.join(root, `t${counter++}`)

describe("restorePath", () => {
  it.scoped("restore(dump(tree)) reproduces random trees, with hash and size", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const samples = fc.sample(fc.tuple(arbTree, fc.integer({ min: 1, max: 300 })), { numRuns: 40, seed: 42 })
      for (const [tree, chunk] of samples) {
        const nar = encodeNar(tree)
        const target = fresh(root)
        const res = yield* restorePath(target, chunked(nar, chunk))
        expect(hex(res.narHash)).toBe(sha(nar))
        expect(res.narSize).toBe(nar.length)
        expect(plain(readTree(target))).toEqual(plain(tree))
        expect(hex(yield* collectBytes(dumpPath(target)))).toBe(hex(nar))
      }
    }))

  it.scoped("byte flips and truncations only give typed errors and leave nothing behind", () =>
    Effect.gen(function*() {
      const { root, check } = yield* withSentinel
      const samples = fc.sample(
        fc.tuple(arbTree, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }), fc.nat()),
        { numRuns: 80, seed: 7 }
      )
      for (const [tree, flips, cut] of samples) {
        const nar = encodeNar(tree).slice()
        for (const [pos, x] of flips) nar[pos % nar.length] = (nar[pos % nar.length] ?? 0) ^ x
        const truncated = flips.length === 0 ? nar.subarray(0, cut % nar.length) : nar
        const target = fresh(root)
        const exit = yield* Effect.exit(restorePath(target, chunked(truncated, 13)))
        if (Exit.isSuccess(exit)) {
          // accepted: the archive must be canonical and restored faithfully
          expect(hex(yield* collectBytes(dumpPath(target)))).toBe(hex(truncated))
          fs.rmSync(target, { recursive: true })
        } else {
          const err = Exit.isFailure(exit) ? exit.cause : undefined
          expect(err?._tag).toBe("Fail")
          if (err?._tag === "Fail") expect(err.error).toBeInstanceOf(NarParseError)
        }
        check()
      }
    }))

  describe("hostile archives: typed error, nothing outside the target, nothing at the target", () => {
    const f = file("pwned")
    const cases: Array<[string, NarTree]> = [
      ["entry ..", dir(["..", f])],
      ["entry ../sentinel/keep", dir(["../sentinel/keep", f])],
      ["entry with NUL", dir(["a\0", f])],
      ["empty entry name", dir(["", f])],
      ["duplicate entries", dir(["a", f], ["a", f])],
      ["unsorted entries", dir(["b", f], ["a", f])],
      ["symlink then a directory of the same name", dir(["a", link("../sentinel")], ["a", dir(["keep", f])])],
      ["symlink then a file of the same name", dir(["keep", link("../sentinel/keep")], ["keep", f])],
      ["symlink then a path through it", dir(["a", link("../sentinel")], ["a/keep", f])],
      [
        "nested: symlink to the sentinel then a path through it",
        dir(["d", dir(["s", link("../../sentinel")], ["s/x", f])])
      ]
    ]
    for (const [name, tree] of cases) {
      it.scoped(name, () =>
        Effect.gen(function*() {
          const { target, check } = yield* withSentinel
          const err = yield* Effect.flip(restorePath(target, Stream.make(encodeNar(tree, { sortEntries: false }))))
          expect(err).toBeInstanceOf(NarParseError)
          check()
        }))
    }

    it.scoped("absurd lengths and non-zero padding", () =>
      Effect.gen(function*() {
        const { target, check } = yield* withSentinel
        const good = encodeNar(dir(["a", file("x")], ["b", file("y".repeat(100))]))
        const bigSize = good.slice()
        const sizeAt = Buffer.from(good).indexOf(Buffer.from([100, 0, 0, 0, 0, 0, 0, 0]))
        bigSize[sizeAt + 7] = 0x40 // 2^62 + 100
        const padded = good.slice()
        padded[Buffer.from(good).indexOf(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0x78])) + 9] = 1
        for (
          const [bytes, kind] of [
            [bigSize, "AbsurdLength"],
            [padded, "NonZeroPadding"]
          ] as const
        ) {
          const err = yield* Effect.flip(restorePath(target, Stream.make(bytes)))
          expect(err._tag === "NarParseError" && err.kind).toBe(kind)
          check()
        }
      }))
  })

  it.scoped("file modes follow Nix: 0666 minus the umask, execute bits added for everyone", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // Under umask 077 the two rules differ: Nix's gives 0711, "0777 minus the umask" 0700.
      // (Test files run in their own forked process: the umask is this file's alone.)
      yield* Effect.acquireRelease(
        Effect.sync(() => process.umask(0o077)),
        (old) => Effect.sync(() => process.umask(old))
      )
      const plainMode = 0o600
      const tree: NarTree = {
        _tag: "Directory",
        entries: [
          { name: "p", node: { _tag: "Regular", executable: false, contents: "x" } },
          { name: "x", node: { _tag: "Regular", executable: true, contents: "y" } }
        ]
      }
      const target = path.join(dir, "t")
      yield* restorePath(target, chunked(encodeNar(tree), 64))
      expect(fs.statSync(path.join(target, "p")).mode & 0o777).toBe(plainMode)
      expect(fs.statSync(path.join(target, "x")).mode & 0o777).toBe(plainMode | 0o111)
    }))

  it.scoped("refuses an existing target and leaves it alone", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const nar = encodeNar(dir(["x", file("new")]))
      const asDir = path.join(root, "dir")
      fs.mkdirSync(asDir)
      fs.writeFileSync(path.join(asDir, "old"), "old")
      const e1 = yield* Effect.flip(restorePath(asDir, Stream.make(nar)))
      expect(e1).toBeInstanceOf(NarRestoreFsError)
      expect(e1._tag === "NarRestoreFsError" && e1.kind).toBe("TargetExists")
      expect(fs.readdirSync(asDir)).toEqual(["old"])
      // a dangling symlink as target: nothing is written through it
      const asLink = path.join(root, "link")
      fs.symlinkSync(path.join(root, "elsewhere"), asLink)
      for (const tree of [file("x"), dir(), link("y")]) {
        const e2 = yield* Effect.flip(restorePath(asLink, Stream.make(encodeNar(tree))))
        expect(e2._tag === "NarRestoreFsError" && e2.kind).toBe("TargetExists")
      }
      expect(fs.existsSync(path.join(root, "elsewhere"))).toBe(false)
      expect(fs.readlinkSync(asLink)).toBe(path.join(root, "elsewhere"))
    }))

  it.scoped("a missing parent directory is an Io error", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const e = yield* Effect.flip(restorePath(path.join(root, "no", "such"), Stream.make(encodeNar(file("x")))))
      expect(e._tag === "NarRestoreFsError" && e.kind).toBe("Io")
    }))

  it.scoped("trailing data after the archive is an error and removes the tree", () =>
    Effect.gen(function*() {
      const { target, check } = yield* withSentinel
      const nar = encodeNar(dir(["a", file("x")]))
      for (const s of [Stream.make(concatBytes([nar, new Uint8Array([1])])), Stream.make(nar, new Uint8Array([0]))]) {
        const e = yield* Effect.flip(restorePath(target, s))
        expect(e._tag === "NarParseError" && e.kind).toBe("TrailingData")
        check()
      }
    }))

  it.scopedLive("interruption mid-archive removes what was created", () =>
    Effect.gen(function*() {
      const { target, check } = yield* withSentinel
      const nar = encodeNar(dir(["a", file("x")], ["b", dir(["c", file("y".repeat(5000))])]))
      const half = nar.subarray(0, nar.length - 2000)
      const fiber = yield* Effect.fork(restorePath(target, Stream.concat(Stream.make(half), Stream.never)))
      // wait until the restore has created files
      for (let i = 0; i < 200 && !fs.existsSync(path.join(target, "b", "c")); i++) yield* Effect.sleep("5 millis")
      expect(fs.existsSync(path.join(target, "b", "c"))).toBe(true)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      check()
    }))
})

describe("restoreFromSource", () => {
  it.scoped("reads NARs embedded in a larger stream, leaving the rest", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      {
        const nar1 = encodeNar(dir(["a", file("one")]))
        const nar2 = encodeNar(link("target"))
        const framed = concatBytes([nar1, Buffer.from("NIXE1234"), nar2, Buffer.from("END")])
        const source = byteSourceFromChunks([framed.subarray(0, 50), framed.subarray(50, 51), framed.subarray(51)])
        const r1 = yield* restoreFromSource(path.join(root, "one"), source)
        expect(r1.narSize).toBe(nar1.length)
        expect(hex(r1.narHash)).toBe(sha(nar1))
        expect(Buffer.from(yield* readExactly(source, 8)).toString()).toBe("NIXE1234")
        const r2 = yield* restoreFromSource(path.join(root, "two"), source)
        expect(hex(r2.narHash)).toBe(sha(nar2))
        expect(Buffer.from(yield* readExactly(source, 3)).toString()).toBe("END")
        expect(Either.isLeft(yield* Effect.either(readExactly(source, 1)))).toBe(true)
        expect(fs.readFileSync(path.join(root, "one", "a"), "utf8")).toBe("one")
        expect(fs.readlinkSync(path.join(root, "two"))).toBe("target")
      }
    }))
})
