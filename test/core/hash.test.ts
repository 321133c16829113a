import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import type { Hash, HashAlgo, HashEncoding } from "../../src/core/hash.js"
import {
  compressHash,
  hashAlgos,
  hashBytes,
  hashEquals,
  HashParseError,
  hashSize,
  makeHasher,
  parseHash,
  parseHashAlgo,
  printHash,
  printHashWithAlgo
} from "../../src/core/hash.js"
import { fromHex, goldenHashes, goldenInput } from "./goldenCore.js"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const encodings: ReadonlyArray<HashEncoding> = ["base16", "nix32", "base64", "sri"]

describe("hash", () => {
  it("hashes strings as UTF-8 and bytes, one-shot and incrementally", () => {
    expect(printHash(hashBytes("sha256", "bar"), "base16")).toBe(
      "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"
    )
    expect(printHash(hashBytes("md5", ""), "base16")).toBe("d41d8cd98f00b204e9800998ecf8427e")
    expect(hashEquals(hashBytes("sha1", "h\u00e9"), hashBytes("sha1", new Uint8Array([0x68, 0xc3, 0xa9])))).toBe(true)
    const hasher = makeHasher("sha512")
    hasher.update(new Uint8Array([1, 2]))
    hasher.update(new Uint8Array([3]))
    expect(hashEquals(hasher.digest(), hashBytes("sha512", new Uint8Array([1, 2, 3])))).toBe(true)
    for (const a of hashAlgos) expect(hashBytes(a, "x").bytes.length).toBe(hashSize(a))
  })

  it("matches every flat hash Nix 2.8 printed for the committed inputs", () => {
    let checked = 0
    for (const g of goldenHashes.hashes) {
      if (g.mode !== "flat") continue
      const bytes = goldenInput(g.input)
      if (bytes === undefined) continue
      const h = hashBytes(g.algo, bytes)
      expect(printHash(h, "base16")).toBe(g.base16)
      expect(printHash(h, "nix32")).toBe(g.nix32)
      expect(printHash(h, "base64")).toBe(g.base64)
      expect(printHash(h, "sri")).toBe(g.sri)
      checked++
    }
    expect(checked).toBe(5 * 4)
  })

  it("parses every form Nix printed, bare (with algo), prefixed and SRI, to the same bytes", () => {
    for (const g of goldenHashes.hashes) {
      const want = fromHex(g.base16)
      const forms = [
        parseHash(g.base16, g.algo),
        parseHash(g.base16.toUpperCase(), g.algo),
        parseHash(g.nix32, g.algo),
        parseHash(g.base64, g.algo),
        parseHash(g.sri),
        parseHash(g.sri, g.algo),
        parseHash(`${g.algo}:${g.base16}`),
        parseHash(`${g.algo}:${g.nix32}`, g.algo),
        parseHash(`${g.algo}:${g.base64}`)
      ]
      for (const f of forms) {
        const h = Either.getOrThrow(f)
        expect(h.algo).toBe(g.algo)
        expect(hex(h.bytes)).toBe(hex(want))
      }
      const h: Hash = { algo: g.algo, bytes: want }
      expect(printHashWithAlgo(h, "nix32")).toBe(`${g.algo}:${g.nix32}`)
      expect(printHashWithAlgo(h, "base64")).toBe(`${g.algo}:${g.base64}`)
    }
  })

  it("reproduces Nix's conversions between forms", () => {
    expect(goldenHashes.conversions.length).toBe(40)
    for (const c of goldenHashes.conversions) {
      const h = Either.getOrThrow(c.algo === null ? parseHash(c.input) : parseHash(c.input, c.algo))
      expect(printHash(h, c.to), JSON.stringify(c)).toBe(c.output)
    }
  })

  it("rejects every string Nix 2.8 rejected, with a typed error", () => {
    expect(goldenHashes.rejected.length).toBeGreaterThan(10)
    for (const r of goldenHashes.rejected) {
      const res = r.algo === null ? parseHash(r.input) : parseHash(r.input, r.algo)
      expect(Either.isLeft(res), JSON.stringify(r)).toBe(true)
      if (Either.isLeft(res)) {
        expect(res.left).toBeInstanceOf(HashParseError)
        expect(res.left.input).toBe(r.input)
      }
    }
  })

  it("is strict about base64: canonical padding and trailing bits", () => {
    const h = hashBytes("sha256", "x")
    const b64 = printHash(h, "base64")
    expect(Either.isRight(parseHash(`sha256-${b64}`))).toBe(true)
    expect(Either.isLeft(parseHash(`sha256-${b64.slice(0, -1)}`))).toBe(true) // no padding
    // 32 bytes → 43 chars + "=": the last char carries 2 unused bits
    const last = b64.charAt(42)
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    const bumped = alphabet.charAt(alphabet.indexOf(last) ^ 1)
    expect(Either.isLeft(parseHash(`sha256-${b64.slice(0, 42)}${bumped}=`))).toBe(true)
    expect(Either.isLeft(parseHash(`sha256-${b64.slice(0, 42)}.=`))).toBe(true)
  })

  it("parses algorithm names like Nix (lower case only)", () => {
    for (const a of hashAlgos) expect(Either.getOrThrow(parseHashAlgo(a))).toBe(a)
    for (const a of ["SHA256", "sha3", "", "sha-256", "md5 "]) expect(Either.isLeft(parseHashAlgo(a))).toBe(true)
  })

  it("compresses hashes as nix-hash --truncate does", () => {
    let checked = 0
    for (const g of goldenHashes.hashes) {
      const full = fromHex(g.base16)
      if (full.length > 20) {
        expect(hex(compressHash(full, 20))).toBe(g.truncatedBase16)
        checked++
      } else {
        expect(g.truncatedBase16).toBe(g.base16)
      }
    }
    expect(checked).toBeGreaterThan(20)
    expect(hex(compressHash(new Uint8Array([1, 2, 3, 4, 5]), 2))).toBe(hex(new Uint8Array([1 ^ 3 ^ 5, 2 ^ 4])))
    expect(compressHash(new Uint8Array([1]), 0).length).toBe(0)
  })

  const algoArb = FastCheck.constantFrom<HashAlgo>(...hashAlgos)

  it.prop(
    "every printed form parses back",
    { algo: algoArb, data: FastCheck.uint8Array({ maxLength: 64 }) },
    ({ algo, data }) => {
      const h = hashBytes(algo, data)
      for (const enc of encodings) {
        const s = printHash(h, enc)
        expect(hashEquals(Either.getOrThrow(parseHash(s, algo)), h)).toBe(true)
        if (enc === "sri") expect(hashEquals(Either.getOrThrow(parseHash(s)), h)).toBe(true)
        else {
          const p = printHashWithAlgo(h, enc)
          expect(hashEquals(Either.getOrThrow(parseHash(p)), h)).toBe(true)
          expect(hashEquals(Either.getOrThrow(parseHash(p, algo)), h)).toBe(true)
        }
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "random strings give a hash or a HashParseError, never an exception",
    {
      s: FastCheck.oneof(
        FastCheck.string({ maxLength: 120 }),
        FastCheck.tuple(
          FastCheck.constantFrom("", "sha256:", "sha1-", "md5:", "sha512-", "x:", "sha256-"),
          FastCheck.stringMatching(/^[0-9a-zA-Z+/=]{0,100}$/)
        ).map(([a, b]) => a + b)
      ),
      algo: FastCheck.option(algoArb, { nil: undefined })
    },
    ({ algo, s }) => {
      const r = algo === undefined ? parseHash(s) : parseHash(s, algo)
      if (Either.isLeft(r)) expect(r.left._tag).toBe("HashParseError")
      else expect(r.right.bytes.length).toBe(hashSize(r.right.algo))
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "typed input needs no algorithm; a given one must agree, worded as Nix's BadHash",
    {
      algo: algoArb,
      other: algoArb,
      data: FastCheck.uint8Array({ maxLength: 64 }),
      enc: FastCheck.constantFrom<HashEncoding>(...encodings)
    },
    ({ algo, data, enc, other }) => {
      const h = hashBytes(algo, data)
      const typed = enc === "sri" ? printHash(h, enc) : printHashWithAlgo(h, enc)
      expect(hashEquals(Either.getOrThrow(parseHash(typed)), h)).toBe(true)
      const r = parseHash(typed, other)
      if (other === algo) expect(hashEquals(Either.getOrThrow(r), h)).toBe(true)
      else expect(Either.isLeft(r) && r.left.message).toBe(`hash '${typed}' should have type '${other}'`)
      if (enc !== "sri") {
        const bare = printHash(h, enc)
        const untyped = parseHash(bare)
        expect(Either.isLeft(untyped) && untyped.left.message)
          .toBe(`hash '${bare}' does not include a type, nor is the type otherwise known from context`)
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("words malformed digests as Nix 2.8 does (golden/cli hash-* cases)", () => {
    const msg = (s: string, algo?: HashAlgo) => {
      const r = algo === undefined ? parseHash(s) : parseHash(s, algo)
      return Either.isLeft(r) ? r.left.message : "parsed"
    }
    expect(msg("sha256:xyz")).toBe("hash 'xyz' has wrong length for hash type 'sha256'")
    expect(msg("sha1:a9993e364706816aba3e25717850c26c9cd0d89g")).toBe(
      "invalid base-16 hash 'a9993e364706816aba3e25717850c26c9cd0d89g'"
    )
    expect(msg("sha1:kpcd173cq987hw957sx6m0868wv3x6de")).toBe("invalid base-32 hash 'kpcd173cq987hw957sx6m0868wv3x6de'")
    expect(msg("sha512-abc")).toBe("invalid SRI hash 'abc'")
    expect(msg("foo:abc")).toBe("unknown hash algorithm 'foo'")
    expect(msg("a9993e364706816aba3e25717850c26c9cd0d89d", "sha1")).toBe("parsed")
  })
})
