import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Option, Schema } from "effect"
import { createPublicKey, verify } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as CA from "../../src/core/contentAddress.js"
import type { Hash } from "../../src/core/hash.js"
import { hashEquals, printHashWithAlgo } from "../../src/core/hash.js"
import * as PathInfo from "../../src/core/pathInfo.js"
import * as StorePath from "../../src/core/storePathBrand.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/pathinfo")
const read = (f: string) => fs.readFileSync(path.join(golden, f), "utf8")
const sd = "/nix/store"
/** The stdout of every `nix path-info --json` case that succeeded. */
const jsonGoldens = read("cases.txt").trim().split("\n")
  .filter((n) => n.startsWith("json") && read(`cases/${n}.status`).trim() === "0")
  .map((n) => ({ name: n, text: read(`cases/${n}.stdout`) }))

const decodeList = Schema.decodeUnknownSync(PathInfo.PathInfoJsonList(sd))
const validInfos = (): Array<PathInfo.ValidPathInfo> =>
  jsonGoldens.flatMap((g) => decodeList(JSON.parse(g.text))).flatMap((e) => (e._tag === "Valid" ? [e.info] : []))

// Arbitraries --------------------------------------------------------------
const nix32Chars = "0123456789abcdfghijklmnpqrsvwxyz"
const nameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-._?="
const storePathArb = fc.tuple(
  fc.array(fc.constantFrom(...nix32Chars), { minLength: 32, maxLength: 32 }),
  fc.array(fc.constantFrom(...nameChars), { minLength: 1, maxLength: 30 })
).map(([h, n]) => `${sd}/${h.join("")}-${n.join("")}`)
  .filter((p) => Either.isRight(StorePath.parse(sd, p)))
  .map((p) => StorePath.unsafeMake(sd, p))
const sha256Arb: fc.Arbitrary<Hash> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => ({
  algo: "sha256",
  bytes
}))
const caArb = fc.oneof(
  sha256Arb.map(CA.text),
  fc.tuple(fc.constantFrom<"flat" | "recursive">("flat", "recursive"), sha256Arb).map(([m, h]) => CA.fixed(m, h))
)
const infoArb: fc.Arbitrary<PathInfo.ValidPathInfo> = fc.record({
  path: storePathArb,
  narHash: sha256Arb,
  narSize: fc.nat(),
  deriver: fc.option(storePathArb, { nil: undefined }).map(Option.fromNullable),
  references: fc.array(storePathArb, { maxLength: 4 }).map((rs) => [...new Set(rs)].sort()),
  registrationTime: fc.nat(),
  ultimate: fc.boolean(),
  sigs: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
  ca: fc.option(caArb, { nil: undefined }).map(Option.fromNullable)
})
const entryArb: fc.Arbitrary<PathInfo.PathInfoJsonEntry> = fc.oneof(
  fc.record({ info: infoArb, closureSize: fc.option(fc.nat(), { nil: undefined }).map(Option.fromNullable) })
    .map(({ closureSize, info }) => ({ _tag: "Valid" as const, info, closureSize })),
  storePathArb.map((p) => ({ _tag: "Invalid" as const, path: p }))
)

const sameInfo = (a: PathInfo.ValidPathInfo, b: PathInfo.ValidPathInfo) => {
  expect(hashEquals(a.narHash, b.narHash)).toBe(true)
  expect(Option.map(a.ca, CA.render)).toEqual(Option.map(b.ca, CA.render))
  expect({ ...a, narHash: null, ca: null }).toEqual({ ...b, narHash: null, ca: null })
}

describe("PathInfo JSON (nix path-info --json)", () => {
  it("decodes what Nix 2.8 printed and prints it back byte for byte", () => {
    expect(jsonGoldens.length).toBeGreaterThanOrEqual(5)
    for (const g of jsonGoldens) {
      const entries = decodeList(JSON.parse(g.text))
      expect(PathInfo.printJson(sd, entries), g.name).toBe(g.text)
    }
  })

  it("covers ca, closureSize, deriver, ultimate, signatures and invalid entries in the goldens", () => {
    const all = jsonGoldens.flatMap((g) => decodeList(JSON.parse(g.text)))
    expect(all.some((e) => e._tag === "Invalid")).toBe(true)
    expect(all.some((e) => e._tag === "Valid" && Option.isSome(e.closureSize))).toBe(true)
    const infos = validInfos()
    for (
      const pred of [
        (i: PathInfo.ValidPathInfo) => Option.isSome(i.ca),
        (i: PathInfo.ValidPathInfo) => Option.isSome(i.deriver),
        (i: PathInfo.ValidPathInfo) => i.ultimate,
        (i: PathInfo.ValidPathInfo) => i.sigs.length > 0
      ]
    ) expect(infos.some(pred)).toBe(true)
  })

  it.effect.prop(
    "typed → JSON → typed is the identity",
    [fc.array(entryArb, { maxLength: 4 })],
    ([entries]) =>
      Effect.gen(function*() {
        const text = PathInfo.printJson(sd, entries)
        const back = yield* Schema.decodeUnknown(PathInfo.PathInfoJsonList(sd))(JSON.parse(text))
        expect(back.length).toBe(entries.length)
        back.forEach((b, i) => {
          const e = entries[i]
          if (e === undefined) throw new Error("missing entry")
          expect(b._tag).toBe(e._tag)
          if (b._tag === "Valid" && e._tag === "Valid") {
            sameInfo(b.info, e.info)
            expect(b.closureSize).toEqual(e.closureSize)
          } else expect(b).toEqual(e)
        })
        // And JSON → typed → JSON gives the same bytes.
        expect(PathInfo.printJson(sd, back)).toBe(text)
      })
  )

  it("prints strings as Nix's JSON writer escapes them", () => {
    expect(PathInfo.printNixJson({ a: "q\"b\\n\nr\rt\t\u0001\b\fé" })).toBe(
      "{\"a\":\"q\\\"b\\\\n\\nr\\rt\\t\\u0001\\u0008\\u000cé\"}"
    )
  })

  it("rejects JSON that is not path info", () => {
    const decode = Schema.decodeUnknownEither(PathInfo.PathInfoJsonList(sd))
    const good = JSON.parse(jsonGoldens[0]?.text ?? "[]") as Array<Record<string, unknown>>
    const first = good.find((e) => "narHash" in e) ?? {}
    expect(Either.isRight(decode([first]))).toBe(true)
    expect(Either.isLeft(decode([{ ...first, narHash: "sha256-nope" }]))).toBe(true)
    expect(Either.isLeft(decode([{ ...first, path: "/nix/store/short" }]))).toBe(true)
    expect(Either.isLeft(decode([{ ...first, ca: "fixed:sha256:abc" }]))).toBe(true)
    expect(Either.isLeft(decode([{ ...first, narSize: -1 }]))).toBe(true)
    expect(Either.isLeft(decode([{ path: first["path"], valid: true }]))).toBe(true)
  })
})

describe("PathInfo database rows", () => {
  it("the golden infos go to rows Nix would store (sha256:<base16>) and back", () => {
    for (const info of validInfos()) {
      const row = PathInfo.toDbRow(info)
      expect(row.narHash).toBe(printHashWithAlgo(info.narHash, "base16"))
      expect(row.narHash).toMatch(/^sha256:[0-9a-f]{64}$/)
      sameInfo(Either.getOrThrow(PathInfo.fromDbRow(sd, row)), info)
    }
  })

  it.effect.prop("toDbRow then fromDbRow is the identity", [infoArb], ([info]) =>
    Effect.gen(function*() {
      const back = yield* PathInfo.fromDbRow(sd, PathInfo.toDbRow(info))
      sameInfo(back, info)
    }))

  it("names the bad column of a row", () => {
    const row = PathInfo.toDbRow(validInfos()[0] as PathInfo.ValidPathInfo)
    const field = (r: PathInfo.PathInfoRow) =>
      Either.match(PathInfo.fromDbRow(sd, r), { onLeft: (e) => e.field, onRight: () => "ok" })
    expect(field(row)).toBe("ok")
    expect(field({ ...row, path: "/other/store/x" })).toBe("path")
    expect(field({ ...row, narHash: "sha256:zz" })).toBe("narHash")
    expect(field({ ...row, narSize: -3 })).toBe("narSize")
    expect(field({ ...row, deriver: Option.some("nope") })).toBe("deriver")
    expect(field({ ...row, references: ["/nix/store/bad"] })).toBe("references")
    expect(field({ ...row, ca: Option.some("fixed:") })).toBe("ca")
    expect(field({ ...row, references: [...row.references, ...row.references].reverse() })).toBe("ok")
    const sorted =
      Either.getOrThrow(PathInfo.fromDbRow(sd, { ...row, references: [...row.references].reverse() })).references
    expect(sorted).toEqual([...sorted].sort())
  })
})

describe("PathInfo fingerprint", () => {
  const [keyName, keyB64] = read("public-key.txt").trim().split(":")
  const key = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(keyB64 ?? "", "base64").toString("base64url") },
    format: "jwk"
  })

  it("is what Nix 2.8 signed: every golden signature verifies against the fingerprint", () => {
    let checked = 0
    for (const info of validInfos()) {
      for (const sig of info.sigs) {
        const [name, b64] = sig.split(":")
        expect(name).toBe(keyName)
        const fp = Either.getOrThrow(PathInfo.fingerprint(info))
        expect(verify(null, Buffer.from(fp), key, Buffer.from(b64 ?? "", "base64")), fp).toBe(true)
        // A different size is a different fingerprint: the check can fail.
        const other = Either.getOrThrow(PathInfo.fingerprint({ ...info, narSize: info.narSize + 1 }))
        expect(verify(null, Buffer.from(other), key, Buffer.from(b64 ?? "", "base64"))).toBe(false)
        checked++
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2)
  })

  it("has Nix's shape, and refuses an unknown NAR size", () => {
    const info = validInfos().find((i) => i.references.length === 2) as PathInfo.ValidPathInfo
    expect(Either.getOrThrow(PathInfo.fingerprint(info))).toBe(
      `1;${info.path};${printHashWithAlgo(info.narHash, "nix32")};${info.narSize};${info.references.join(",")}`
    )
    const e = PathInfo.fingerprint({ ...info, narSize: 0 })
    expect(Either.isLeft(e) && e.left.message).toBe(
      `cannot calculate fingerprint of path '${info.path}' because its size is not known`
    )
  })
})

describe("StorePath brand", () => {
  it("parses valid store paths only, and takes them apart", () => {
    const p = Either.getOrThrow(StorePath.parse(sd, "/nix/store/x4gpy7m16216pzcgybhfk2k6fxsifidf-app"))
    expect(StorePath.hashPart(p)).toBe("x4gpy7m16216pzcgybhfk2k6fxsifidf")
    expect(StorePath.name(p)).toBe("app")
    expect(StorePath.baseName(p)).toBe("x4gpy7m16216pzcgybhfk2k6fxsifidf-app")
    expect(StorePath.storeDirOf(p)).toBe(sd)
    for (
      const bad of [
        "/nix/store/short",
        "/other/x4gpy7m16216pzcgybhfk2k6fxsifidf-app",
        "/nix/store/x4gpy7m16216pzcgybhfk2k6fxsifidf-app/sub"
      ]
    ) {
      expect(Either.isLeft(StorePath.parse(sd, bad)), bad).toBe(true)
      expect(() => StorePath.unsafeMake(sd, bad)).toThrow()
    }
    expect(Either.isLeft(Schema.decodeUnknownEither(StorePath.StorePathFromString(sd))("/nix/store/short"))).toBe(true)
  })

  it.effect.prop("the Schema round-trips valid paths", [storePathArb], ([p]) =>
    Effect.gen(function*() {
      const s = yield* Schema.encode(StorePath.StorePathFromString(sd))(p)
      expect(yield* Schema.decode(StorePath.StorePathFromString(sd))(s)).toBe(p)
    }))
})
