import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { decodeNar } from "../../src/core/nar/decode.js"
import { encodeNar } from "../../src/core/nar/encode.js"
import { dumpPath, narHashPath } from "../../src/io/dump.js"
import { restorePath } from "../../src/io/restore.js"
import { loadTrees, materialize } from "../../golden/nar/materialize.mjs"
import { chunked, collectBytes, hex, plain, readTree, specToTree, tempDir } from "./helpers.js"

const goldenDir = path.resolve(__dirname, "../../golden/nar")
const expected = JSON.parse(fs.readFileSync(path.join(goldenDir, "expected.json"), "utf8")) as Record<
  string,
  { narSize: number; sha256: string; nix32: string; hasNar: boolean }
>
const trees = loadTrees()

describe("NAR golden data (nix-store --dump, nix-hash)", () => {
  it("covers every tree of trees.json", () => {
    expect(trees.map((t) => t.name).sort()).toEqual(Object.keys(expected).sort())
  })

  for (const tree of trees) {
    const exp = expected[tree.name]!
    it.scoped(`dump of ${tree.name} matches Nix byte for byte`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const p = path.join(dir, tree.name)
        materialize(p, tree.root)
        const bytes = yield* collectBytes(dumpPath(p))
        expect(bytes.length).toBe(exp.narSize)
        if (exp.hasNar) expect(hex(bytes)).toBe(hex(fs.readFileSync(path.join(goldenDir, `${tree.name}.nar`))))
        const { narHash, narSize } = yield* narHashPath(p)
        expect(hex(narHash)).toBe(exp.sha256)
        expect(narSize).toBe(exp.narSize)
      }))

    if (exp.hasNar) {
      const nar = fs.readFileSync(path.join(goldenDir, `${tree.name}.nar`))

      it(`pure decode/encode of ${tree.name}.nar round-trips and matches the spec`, () => {
        const decoded = Either.getOrThrow(decodeNar(nar))
        expect(hex(encodeNar(decoded))).toBe(hex(nar))
        expect(plain(decoded)).toEqual(plain(specToTree(tree.root)))
      })

      it.scoped(`restore of ${tree.name}.nar rebuilds the tree (chunked input)`, () =>
        Effect.gen(function*() {
          const dir = yield* tempDir
          for (const size of [1, 7, 64, 1 << 20]) {
            const target = path.join(dir, `out-${size}`)
            const res = yield* restorePath(target, chunked(nar, size))
            expect(hex(res.narHash)).toBe(exp.sha256)
            expect(res.narSize).toBe(exp.narSize)
            expect(plain(readTree(target))).toEqual(plain(specToTree(tree.root)))
            // and dumping the restored tree gives the same bytes again
            expect(hex(yield* collectBytes(dumpPath(target)))).toBe(hex(nar))
          }
        }))
    }
  }

  it.scoped("restore of the large trees reproduces Nix's hash through a dump", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const tree of trees.filter((t) => !expected[t.name]!.hasNar)) {
        const src = path.join(dir, `${tree.name}-src`)
        materialize(src, tree.root)
        const target = path.join(dir, `${tree.name}-out`)
        const res = yield* restorePath(target, dumpPath(src))
        expect(hex(res.narHash)).toBe(expected[tree.name]!.sha256)
        expect(plain(readTree(target))).toEqual(plain(specToTree(tree.root)))
      }
    }))

  it.scoped("a stream that fails mid-way fails the restore with its own error and leaves nothing", () =>
    Effect.gen(function*() {
      const nar = fs.readFileSync(path.join(goldenDir, "nested.nar"))
      const s = Stream.concat(chunked(nar.subarray(0, 1000), 10), Stream.fail("boom" as const))
      const dir = yield* tempDir
      const err = yield* Effect.flip(restorePath(path.join(dir, "t"), s))
      expect(err).toBe("boom")
      expect(fs.readdirSync(dir)).toEqual([])
    }))
})

// Archives Nix's dumper never writes but Nix 2.8's reader accepts: regular files without a
// `contents` field are restored as empty files (golden/nar/lenient: Nix's dump of what it restored).
describe("NAR golden data: what Nix 2.8 restores from lenient archives", () => {
  const lenientDir = path.join(goldenDir, "lenient")
  const names = fs.readdirSync(lenientDir).filter((f) => f.endsWith(".nar") && !f.endsWith(".restored.nar"))
    .map((f) => f.slice(0, -".nar".length))
  it("has the three cases", () =>
    expect(names.sort()).toEqual(["dir-with-file-no-contents", "executable-no-contents", "regular-no-contents"]))
  for (const name of names) {
    for (const size of [1, 7, 4096]) {
      it.scoped(`${name} (in ${size}-byte chunks) restores as Nix restores it`, () =>
        Effect.gen(function*() {
          const dir = yield* tempDir
          const target = path.join(dir, name)
          yield* restorePath(target, chunked(fs.readFileSync(path.join(lenientDir, `${name}.nar`)), size))
          const ours = yield* collectBytes(dumpPath(target))
          expect(hex(ours)).toBe(hex(fs.readFileSync(path.join(lenientDir, `${name}.restored.nar`))))
        }))
    }
  }
})
