import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import { decodeNix32, encodeNix32, Nix32Error, nix32Alphabet, nix32EncodedLength } from "../../src/core/nix32.js"
import { fromHex, goldenHashes } from "./goldenCore.js"

/** Independent reference: bytes as a little-endian integer, printed most significant digit first. */
const referenceEncode = (bytes: Uint8Array): string => {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0)
  const len = nix32EncodedLength(bytes.length)
  let out = ""
  for (let k = len - 1; k >= 0; k--) out += nix32Alphabet[Number((n >> BigInt(5 * k)) & 31n)]
  return out
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

describe("nix32", () => {
  it("has Nix's alphabet and lengths", () => {
    expect(nix32Alphabet).toBe("0123456789abcdfghijklmnpqrsvwxyz")
    expect(nix32Alphabet).not.toMatch(/[eotu]/)
    expect([0, 1, 16, 20, 32, 64].map(nix32EncodedLength)).toEqual([0, 2, 26, 32, 52, 103])
  })

  it("encodes and decodes the vectors", () => {
    const vectors: Array<[string, string]> = [
      ["", ""],
      ["1f", "0z"],
      ["8a12321522fd91efbd60ebb2481af88580f61600", "00bgd045z0d4icpbc2yyz4gx48ak44la"]
    ]
    for (const [h, s] of vectors) {
      expect(encodeNix32(fromHex(h))).toBe(s)
      expect(hex(Either.getOrThrow(decodeNix32(s)))).toBe(h)
    }
  })

  it("rejects wrong lengths, invalid characters and high bits", () => {
    for (const s of ["zz", "c0", "0", "0zz", "0e", "0O", "0Z", "0 ", "0\u00e9", "00bgd045z0d4icpbc2yyz4gx48ak44lt"]) {
      const r = decodeNix32(s)
      expect(Either.isLeft(r), s).toBe(true)
      if (Either.isLeft(r)) {
        expect(r.left).toBeInstanceOf(Nix32Error)
        expect(r.left._tag).toBe("Nix32Error")
        expect(r.left.input).toBe(s)
      }
    }
    // explicit byte length must match the string length
    expect(Either.isLeft(decodeNix32("0z", 2))).toBe(true)
    expect(Either.isLeft(decodeNix32("00bgd045z0d4icpbc2yyz4gx48ak44la", 19))).toBe(true)
    expect(Either.isLeft(decodeNix32("", -1))).toBe(true)
    expect(Either.isLeft(decodeNix32("", 0.5))).toBe(true)
    expect(hex(Either.getOrThrow(decodeNix32("00bgd045z0d4icpbc2yyz4gx48ak44la", 20)))).toBe(
      "8a12321522fd91efbd60ebb2481af88580f61600"
    )
  })

  it("agrees with every base16/nix32 pair Nix 2.8 printed", () => {
    expect(goldenHashes.hashes.length).toBeGreaterThan(50)
    for (const h of goldenHashes.hashes) {
      expect(encodeNix32(fromHex(h.base16))).toBe(h.nix32)
      expect(hex(Either.getOrThrow(decodeNix32(h.nix32)))).toBe(h.base16)
    }
  })

  it.prop(
    "decode(encode(x)) = x and matches a BigInt reference",
    { bytes: FastCheck.uint8Array({ maxLength: 80 }) },
    ({ bytes }) => {
      const s = encodeNix32(bytes)
      expect(s.length).toBe(nix32EncodedLength(bytes.length))
      expect(s).toBe(referenceEncode(bytes))
      expect(hex(Either.getOrThrow(decodeNix32(s, bytes.length)))).toBe(hex(bytes))
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "arbitrary strings decode to a typed result, and valid ones are canonical",
    { s: FastCheck.oneof(FastCheck.string(), FastCheck.stringMatching(/^[0-9a-z]{0,60}$/)) },
    ({ s }) => {
      const r = decodeNix32(s)
      if (Either.isRight(r)) expect(encodeNix32(r.right)).toBe(s)
      else expect(r.left._tag).toBe("Nix32Error")
    },
    { fastCheck: { numRuns: 1000 } }
  )
})
