import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { nix32Alphabet } from "../../src/core/nix32.js"
import { makeReferenceScanner } from "../../src/core/referenceScanner.js"

const arbHash = fc.string({ unit: fc.constantFrom(...nix32Alphabet), minLength: 32, maxLength: 32 })

/** The obvious answer: which candidates occur anywhere in the whole byte string. */
const naive = (data: Uint8Array, hashes: ReadonlyArray<string>): Set<string> =>
  new Set(hashes.filter((h) => h.length === 32 && Buffer.from(data).includes(Buffer.from(h))))

/** Pieces a stream is made of: candidates, their prefixes/suffixes, nix32 runs, any bytes. */
const arbData = (hashes: ReadonlyArray<string>) =>
  fc.array(
    fc.oneof(
      fc.constantFrom(...hashes).map((h) => Buffer.from(h)),
      fc.tuple(fc.constantFrom(...hashes), fc.integer({ min: 1, max: 31 })).map(([h, n]) => Buffer.from(h.slice(0, n))),
      fc.tuple(fc.constantFrom(...hashes), fc.integer({ min: 1, max: 31 })).map(([h, n]) => Buffer.from(h.slice(n))),
      fc.string({ unit: fc.constantFrom(...nix32Alphabet), maxLength: 40 }).map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b))
    ),
    { maxLength: 30 }
  ).map((parts) => new Uint8Array(Buffer.concat(parts)))

/** Cuts `data` at the given positions (taken modulo its length). */
const chunked = (data: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const at = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % (data.length + 1))))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let prev = 0
  for (const c of [...at, data.length]) {
    out.push(data.subarray(prev, c))
    prev = c
  }
  return out
}

const scanAll = (hashes: ReadonlyArray<string>, chunks: ReadonlyArray<Uint8Array>) => {
  const s = makeReferenceScanner(hashes)
  for (const c of chunks) s.update(c)
  return s.result()
}

describe("makeReferenceScanner", () => {
  it.effect.prop(
    "any chunking gives the result of the whole, which is the naive search's",
    [
      fc.uniqueArray(arbHash, { minLength: 1, maxLength: 6 }).chain((hashes) =>
        fc.tuple(fc.constant(hashes), arbData(hashes), fc.array(fc.nat(), { maxLength: 12 }))
      )
    ],
    ([[hashes, data, cuts]]) =>
      Effect.sync(() => {
        const whole = scanAll(hashes, [data])
        expect(whole).toEqual(naive(data, hashes))
        expect(scanAll(hashes, chunked(data, cuts))).toEqual(whole)
        // One byte at a time is the hardest chunking.
        expect(scanAll(hashes, [...data].map((b) => Uint8Array.of(b)))).toEqual(whole)
      }),
    { fastCheck: { numRuns: 100 } }
  )

  it.effect.prop(
    "hashes planted in random data are found at every split of the stream into two or three chunks",
    [
      fc.uniqueArray(arbHash, { minLength: 1, maxLength: 40 }).chain((hashes) =>
        fc.tuple(
          fc.constant(hashes),
          // Background: all-nix32 (every window a candidate window), text-like or binary.
          fc.oneof(
            fc.string({ unit: fc.constantFrom(...nix32Alphabet), minLength: 40, maxLength: 120 }).map((s) =>
              Buffer.from(s)
            ),
            fc.string({ unit: fc.constantFrom(..."abcdefgh-/ \n0123"), minLength: 40, maxLength: 120 }).map((s) =>
              Buffer.from(s)
            ),
            fc.uint8Array({ minLength: 40, maxLength: 120 }).map((b) => Buffer.from(b))
          ),
          fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 3 })
        )
      )
    ],
    ([[hashes, background, plants]]) =>
      Effect.sync(() => {
        // Plant candidates (possibly overlapping one another) at chosen positions.
        const data = new Uint8Array(background.length + 32)
        data.set(background)
        for (const [which, at] of plants) {
          data.set(Buffer.from(hashes[which % hashes.length]!), at % (data.length - 31))
        }
        const expected = naive(data, hashes)
        expect(expected.size).toBeGreaterThan(0)
        for (let k = 0; k <= data.length; k++) {
          expect(scanAll(hashes, [data.subarray(0, k), data.subarray(k)])).toEqual(expected)
          const k2 = Math.min(data.length, k + 1 + (k % 33))
          expect(scanAll(hashes, [data.subarray(0, k), data.subarray(k, k2), data.subarray(k2)])).toEqual(expected)
        }
      }),
    { fastCheck: { numRuns: 30 } }
  )

  it("with thousands of candidates sharing 4-byte pieces, finds exactly what the naive search finds", () => {
    let x = 7
    const rnd = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0)
    const nix32 = (len: number) => Array.from({ length: len }, () => nix32Alphabet[rnd() >>> 27]).join("")
    // Candidates built from few distinct pieces, so that many (candidate, offset) pairs share a key.
    const pieces = Array.from({ length: 6 }, () => nix32(4))
    const hashes = Array.from({ length: 3000 }, () => Array.from({ length: 8 }, () => pieces[rnd() % 6]).join(""))
    const parts: Array<string> = []
    for (let i = 0; i < 400; i++) parts.push(i % 50 === 0 ? hashes[rnd() % hashes.length]! : pieces[rnd() % 6]!)
    parts.push(nix32(5000))
    const data = Buffer.from(parts.join(""))
    const expected = naive(data, hashes)
    expect(expected.size).toBeGreaterThan(8)
    expect(scanAll(hashes, [data])).toEqual(expected)
    expect(scanAll(hashes, chunked(data, [100, 101, 1000, 1031, 1062]))).toEqual(expected)
  })

  it("finds candidates sharing their first bytes, and ignores strings that are no hash part", () => {
    const a = "0".repeat(28) + "abcd"
    const b = "0".repeat(28) + "abcf"
    const c = "0".repeat(31) + "z"
    const data = Buffer.from(`xx${b}yy${"0".repeat(40)}`)
    expect(scanAll([a, b, c, "tooshort", "e".repeat(32)], [data])).toEqual(new Set([b]))
    expect(scanAll([], [data]).size).toBe(0)
  })

  it("sees a hash in a file name, in a symlink target or across a 1 MiB chunk boundary", () => {
    const h = "1b9p07z77phvv2hf6vys4k4j0m1vvnvp"
    const big = new Uint8Array(2 << 20).fill(0x61)
    Buffer.from(h).copy(big, (1 << 20) - 16)
    const s = makeReferenceScanner([h, "2b9p07z77phvv2hf6vys4k4j0m1vvnvp"])
    s.update(big.subarray(0, 1 << 20))
    expect(s.result().size).toBe(0)
    s.update(big.subarray(1 << 20))
    expect(s.result()).toEqual(new Set([h]))
  })
})
