import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, FastCheck as fc, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as C from "../../src/io/compression.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/cache")

const collect = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

/** A stream of `data` cut into pieces of `piece` bytes. */
const chunked = (data: Uint8Array, piece: number) => {
  const parts: Array<Uint8Array> = []
  for (let i = 0; i < data.length; i += piece) parts.push(data.subarray(i, i + piece))
  return Stream.fromIterable(parts)
}

const hasTool = (t: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${t}`])
    return true
  } catch {
    return false
  }
}

describe("compression", () => {
  it.effect.prop(
    "every method round-trips any bytes, in any chunking; decompression detects it",
    [fc.constantFrom(...C.compressionMethods), fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 700 })],
    ([method, data, piece]) =>
      Effect.gen(function*() {
        const packed = yield* collect(chunked(data, piece).pipe(C.compress(method)))
        // decompress by the label, and (all but br) by detection under a wrong label
        expect(yield* collect(chunked(packed, piece).pipe(C.decompress(method)))).toEqual(Buffer.from(data))
        if (method !== "br" && method !== "none") {
          expect(yield* collect(chunked(packed, 3).pipe(C.decompress("xz")))).toEqual(Buffer.from(data))
        }
      }),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect("Nix's NAR files decompress to the NARs of the uncompressed cache", () =>
    Effect.gen(function*() {
      let n = 0
      for (const c of ["xz", "zstd", "bzip2", "br", "gzip"]) {
        for (const f of fs.readdirSync(path.join(golden, c)).filter((f) => f.endsWith(".narinfo"))) {
          const text = fs.readFileSync(path.join(golden, c, f), "utf8")
          const url = /^URL: (.*)$/m.exec(text)![1]!
          const narHash = /^NarHash: (.*)$/m.exec(text)![1]!
          const plainInfo = path.join(golden, "none", f)
          if (!fs.existsSync(plainInfo)) continue
          const plainUrl = /^URL: (.*)$/m.exec(fs.readFileSync(plainInfo, "utf8"))![1]!
          expect(fs.readFileSync(plainInfo, "utf8")).toContain(`NarHash: ${narHash}`)
          const out = yield* collect(
            Stream.make(new Uint8Array(fs.readFileSync(path.join(golden, c, url)))).pipe(C.decompress(c))
          )
          expect(out, `${c}/${url}`).toEqual(fs.readFileSync(path.join(golden, "none", plainUrl)))
          n++
        }
      }
      expect(n).toBe(25)
    }))

  it.effect(
    "large inputs stream through every codec (several bzip2 blocks); system tools read tsnix's output",
    () =>
      Effect.gen(function*() {
        const data = Buffer.alloc(1_200_000)
        for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251 ^ (i >> 12)
        const tools: Record<string, string> = { xz: "xz", zstd: "zstd", bzip2: "bzip2", gzip: "gzip" }
        for (const m of ["xz", "zstd", "bzip2", "gzip", "br"] as const) {
          const packed = yield* collect(chunked(data, 65536).pipe(C.compress(m)))
          expect(packed.length).toBeLessThan(data.length)
          expect((yield* collect(chunked(packed, 10_000).pipe(C.decompress(m)))).equals(data)).toBe(true)
          const tool = tools[m]
          if (tool !== undefined && hasTool(tool)) {
            expect(execFileSync(tool, ["-dc"], { input: packed, maxBuffer: 1 << 24 }).equals(data), m).toBe(true)
          }
        }
      }),
    60_000
  )

  it.effect("truncated or corrupt input is a CompressionError", () =>
    Effect.gen(function*() {
      const data = Buffer.from("x".repeat(100_000) + "y".repeat(1000))
      for (const m of ["xz", "zstd", "bzip2", "gzip", "br"] as const) {
        const packed = yield* collect(Stream.make(new Uint8Array(data)).pipe(C.compress(m)))
        const cut = yield* Effect.either(
          collect(Stream.make(packed.subarray(0, packed.length - 8)).pipe(C.decompress(m)))
        )
        expect(Either.isLeft(cut), `${m} truncated`).toBe(true)
        if (Either.isLeft(cut)) expect(cut.left._tag).toBe("CompressionError")
      }
      // an unknown method name is refused when writing
      expect((yield* Effect.either(C.parseCompressionMethod("lz4")))._tag).toBe("Left")
      // bytes of no known format pass through under any label but br (libarchive's raw format)
      expect(yield* collect(Stream.make(new Uint8Array(data)).pipe(C.decompress("xz")))).toEqual(data)
    }))
})

describe("pipeThroughTransform", () => {
  it.effect("a failing input fails the output (it is not taken for the end of input)", () =>
    Effect.gen(function*() {
      for (const m of C.compressionMethods) {
        const failing = Stream.concat(Stream.make(new Uint8Array(1000)), Stream.fail("boom" as const))
        expect(yield* Effect.flip(collect(failing.pipe(C.compress(m)))), m).toBe("boom")
        const packed = yield* collect(Stream.make(new Uint8Array(100_000)).pipe(C.compress(m)))
        const cut = Stream.concat(Stream.make(packed.subarray(0, 20)), Stream.fail("boom" as const))
        expect(yield* Effect.flip(collect(cut.pipe(C.decompress(m)))), m).toBe("boom")
      }
    }))
})
