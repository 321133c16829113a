import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as CA from "../../src/core/contentAddress.js"
import type { Hash, HashAlgo } from "../../src/core/hash.js"
import { hashAlgos, hashEquals, hashSize, printHash } from "../../src/core/hash.js"
import { renderContentAddress } from "../../src/core/storePath.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/pathinfo")
/** The `ca` column of every path in Nix 2.8's database of golden/pathinfo (--add, --add-fixed [-r] of 4 algos, toFile, .drv). */
const nixCas = fs.readFileSync(path.join(golden, "meta.txt"), "utf8").trim().split("\n")
  .map((l) => l.split("\t")[4] ?? "").filter((ca) => ca !== "")

const hashArb: fc.Arbitrary<Hash> = fc.constantFrom<HashAlgo>(...hashAlgos).chain((algo) =>
  fc.uint8Array({ minLength: hashSize(algo), maxLength: hashSize(algo) }).map((bytes) => ({ algo, bytes }))
)
const caArb: fc.Arbitrary<CA.ContentAddress> = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => CA.text({ algo: "sha256", bytes })),
  fc.tuple(fc.constantFrom<"flat" | "recursive">("flat", "recursive"), hashArb).map(([m, h]) => CA.fixed(m, h))
)

describe("ContentAddress", () => {
  it("parses and renders back every ca Nix 2.8 stored (text, fixed, fixed:r; md5, sha1, sha256, sha512)", () => {
    expect(nixCas.length).toBeGreaterThanOrEqual(8)
    const methods = new Set<string>()
    for (const s of nixCas) {
      const ca = Either.getOrThrow(CA.parse(s))
      methods.add(`${ca.method}:${ca.hash.algo}`)
      expect(CA.render(ca)).toBe(s)
      expect(renderContentAddress(ca.method, ca.hash)).toBe(s)
      expect(Schema.encodeSync(CA.ContentAddressFromString)(Schema.decodeSync(CA.ContentAddressFromString)(s))).toBe(s)
    }
    for (
      const m of ["text:sha256", "recursive:sha256", "flat:sha256", "flat:md5", "recursive:sha1", "recursive:sha512"]
    ) {
      expect(methods).toContain(m)
    }
  })

  it.effect.prop("render then parse is the identity", [caArb], ([ca]) =>
    Effect.sync(() => {
      const back = Either.getOrThrow(CA.parse(CA.render(ca)))
      expect(CA.equals(back, ca)).toBe(true)
      expect(back.method).toBe(ca.method)
    }))

  it.effect.prop("the Schema round-trips and agrees with render", [caArb], ([ca]) =>
    Effect.gen(function*() {
      const s = yield* Schema.encode(CA.ContentAddressFromString)(ca)
      expect(s).toBe(CA.render(ca))
      const back = yield* Schema.decode(CA.ContentAddressFromString)(s)
      expect(CA.equals(back, ca)).toBe(true)
    }))

  it.effect.prop("digests in base16 and base64 parse to the same address", [caArb], ([ca]) =>
    Effect.sync(() => {
      const prefix = CA.renderMethodAlgo(ca.method, ca.hash.algo)
      for (const enc of ["base16", "base64"] as const) {
        const back = Either.getOrThrow(CA.parse(`${prefix}:${printHash(ca.hash, enc)}`))
        expect(hashEquals(back.hash, ca.hash)).toBe(true)
        expect(back.method).toBe(ca.method)
      }
    }))

  it("names what is wrong", () => {
    const h32 = "1asih5h6s6whgcm1fw0nm0x4wfr34zn1220hxbj77kh3gj463xms"
    const problem = (s: string) => Either.match(CA.parse(s), { onLeft: (e) => e.problem, onRight: () => "parsed" })
    expect(problem("nothing")).toBe("NoPrefix")
    expect(problem(`fixd:sha256:${h32}`)).toBe("UnknownPrefix")
    expect(problem(`fixed:r:${h32}`)).toBe("NoHashAlgo")
    expect(problem(`fixed:sha3:${h32}`)).toBe("UnknownHashAlgo")
    expect(problem("text:sha1:4ycpbqxl2bhhv491nrxxjh2i1vh792l1")).toBe("TextNotSha256")
    expect(problem("fixed:sha256:abc")).toBe("BadDigest")
    expect(problem(`fixed:sha256:${h32.slice(0, -1)}e`)).toBe("BadDigest")
    expect(problem(`fixed:r:sha256:${h32}`)).toBe("parsed")
    const e = CA.parse("fixed:sha256:abc")
    expect(Either.isLeft(e) && e.left.message).toMatch(/^invalid content address 'fixed:sha256:abc': /)
    expect(Either.isLeft(Schema.decodeEither(CA.ContentAddressFromString)("text:md5:x"))).toBe(true)
  })

  it.effect.prop(
    "arbitrary strings parse or fail with a typed error, never throw",
    [fc.string({ maxLength: 80 })],
    ([s]) =>
      Effect.sync(() => {
        const r = CA.parse(s)
        if (Either.isLeft(r)) expect(r.left._tag).toBe("InvalidContentAddressError")
        else expect(CA.render(r.right).split(":")[0]).toMatch(/^(text|fixed)$/)
      })
  )

  it("text addresses must be sha256", () => {
    expect(() => CA.text({ algo: "sha1", bytes: new Uint8Array(20) })).toThrow(/sha256/)
  })
})
