import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as CacheInfo from "../../../src/core/cache/cacheInfo.js"
import * as NarInfo from "../../../src/core/cache/narInfo.js"
import * as Listing from "../../../src/core/cache/narListing.js"
import * as Signing from "../../../src/core/cache/signing.js"
import * as CA from "../../../src/core/contentAddress.js"
import type { Hash } from "../../../src/core/hash.js"
import { hashEquals } from "../../../src/core/hash.js"
import * as PathInfo from "../../../src/core/pathInfo.js"
import * as StorePath from "../../../src/core/storePathBrand.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../golden/cache")
const read = (f: string) => fs.readFileSync(path.join(golden, f), "utf8")
const sd = "/nix/store"
const compressions = ["xz", "zstd", "bzip2", "none", "br", "gzip"]
const narInfoFiles = (dir: string) =>
  fs.readdirSync(path.join(golden, dir)).filter((f) => f.endsWith(".narinfo")).sort()
const parse = (text: string, whence = "x.narinfo") => NarInfo.parseNarInfo(sd, text, whence)
const parseOk = (text: string) => Either.getOrThrow(parse(text))

// Arbitraries -----------------------------------------------------------------
const nix32Chars = "0123456789abcdfghijklmnpqrsvwxyz"
const nameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-._?="
const storePathArb = fc.tuple(
  fc.array(fc.constantFrom(...nix32Chars), { minLength: 32, maxLength: 32 }),
  fc.array(fc.constantFrom(...nameChars), { minLength: 1, maxLength: 30 })
).map(([h, n]) => `${sd}/${h.join("")}-${n.join("")}`)
  .filter((p) => Either.isRight(StorePath.parse(sd, p)) && !p.slice(44).startsWith("."))
  .map((p) => StorePath.unsafeMake(sd, p))
const sha256Arb: fc.Arbitrary<Hash> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => ({
  algo: "sha256",
  bytes
}))
const sigArb = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9.-]{0,10}$/), fc.uint8Array({ minLength: 64, maxLength: 64 }))
  .map(([n, b]) => `${n}:${Buffer.from(b).toString("base64")}`)
const narInfoArb: fc.Arbitrary<NarInfo.NarInfo> = fc.record({
  path: storePathArb,
  narHash: sha256Arb,
  narSize: fc.integer({ min: 1, max: 2 ** 40 }),
  deriver: fc.option(storePathArb, { nil: undefined }),
  references: fc.uniqueArray(storePathArb, { maxLength: 5 }),
  sigs: fc.uniqueArray(sigArb, { maxLength: 3 }),
  ca: fc.option(sha256Arb.map(CA.text), { nil: undefined }),
  compression: fc.constantFrom(...compressions),
  fileHash: sha256Arb,
  fileSize: fc.integer({ min: 0, max: 2 ** 40 }),
  system: fc.option(fc.constantFrom("x86_64-linux", "aarch64-linux"), { nil: undefined })
}).map((r) => ({
  path: r.path,
  narHash: r.narHash,
  narSize: r.narSize,
  deriver: Option.fromNullable(r.deriver),
  references: [...r.references].sort(),
  registrationTime: 0,
  ultimate: false,
  sigs: [...r.sigs].sort(),
  ca: Option.fromNullable(r.ca),
  url: NarInfo.narUrlFor(r.fileHash, r.compression),
  compression: r.compression,
  fileHash: Option.some(r.fileHash),
  fileSize: r.fileSize,
  system: Option.fromNullable(r.system)
}))

const sameNarInfo = (a: NarInfo.NarInfo, b: NarInfo.NarInfo) => {
  expect(a.path).toBe(b.path)
  expect(hashEquals(a.narHash, b.narHash)).toBe(true)
  expect(a.narSize).toBe(b.narSize)
  expect(a.references).toEqual(b.references)
  expect(a.deriver).toEqual(b.deriver)
  expect(a.sigs).toEqual(b.sigs)
  expect(Option.map(a.ca, CA.render)).toEqual(Option.map(b.ca, CA.render))
  expect(a.url).toBe(b.url)
  expect(a.compression).toBe(b.compression)
  expect(a.fileSize).toBe(b.fileSize)
  expect(a.system).toEqual(b.system)
}

describe("narinfo", () => {
  it("every narinfo Nix 2.8 wrote parses and prints back byte for byte", () => {
    let n = 0
    for (const c of [...compressions, "unsigned"]) {
      for (const f of narInfoFiles(c)) {
        const text = read(`${c}/${f}`)
        const ni = Either.getOrThrow(parse(text, f))
        expect(NarInfo.printNarInfo(ni), `${c}/${f}`).toBe(text)
        expect(NarInfo.narInfoFileFor(ni.path)).toBe(f)
        expect(ni.compression).toBe(c === "unsigned" ? "none" : c)
        expect(ni.url).toBe(NarInfo.narUrlFor(Option.getOrThrow(ni.fileHash), ni.compression))
        // The NAR file is where the URL says, of the size and hash the narinfo says.
        const nar = fs.readFileSync(path.join(golden, c, ni.url))
        expect(nar.length).toBe(ni.fileSize)
        n++
      }
    }
    expect(n).toBeGreaterThanOrEqual(35)
  })

  it("`References: ` keeps its space when empty; Deriver and CA as Nix writes them", () => {
    const text = read("none/i9pmrzmpshapij2kin22pff6fc2adavx.narinfo")
    expect(text).toContain("\nReferences: \n")
    const ni = parseOk(text)
    expect(ni.references).toEqual([])
    const out = parseOk(read("none/yy3q3nmycrzjsy7c37wnakdchwyp36m5.narinfo"))
    expect(Option.getOrThrow(out.deriver)).toMatch(/^\/nix\/store\/[a-z0-9]{32}-out\.drv$/)
    expect(out.references).toContain(out.path)
    expect(NarInfo.printNarInfo(out).split("\n").at(-2)).toMatch(/^Sig: /)
  })

  it.effect.prop("print then parse is the identity", [narInfoArb], ([ni]) =>
    Effect.sync(() => {
      const text = NarInfo.printNarInfo(ni)
      sameNarInfo(parseOk(text), ni)
      expect(NarInfo.printNarInfo(parseOk(text))).toBe(text)
    }), { fastCheck: { numRuns: 60 } })

  it("Nix's parser rules: unknown fields, unknown-deriver, default bzip2, any prefixed hash", () => {
    const base = read("none/yy3q3nmycrzjsy7c37wnakdchwyp36m5.narinfo")
    const ni = parseOk(base)
    const b16 = Buffer.from(ni.narHash.bytes).toString("hex")
    const b64 = Buffer.from(ni.narHash.bytes).toString("base64")
    const edited = base
      .replace(/^Compression: .*\n/m, "")
      .replace(/^Deriver: .*$/m, "Deriver: unknown-deriver\nFuture: field")
      .replace(/^NarHash: .*$/m, `NarHash: sha256:${b16}`)
      .replace(/^FileHash: .*$/m, `FileHash: sha256-${b64}`)
    const e = parseOk(edited)
    expect(e.compression).toBe("bzip2")
    expect(e.deriver).toEqual(Option.none())
    expect(hashEquals(e.narHash, ni.narHash)).toBe(true)
    // A repeated empty References line is accepted; a second non-empty one is corrupt.
    expect(Either.isRight(parse(base.replace("References: ", "References: \nReferences: ")))).toBe(true)
    expect(Either.isLeft(parse(base + `References: ${StorePath.baseName(ni.path)}\n`))).toBe(true)
  })

  it("corrupt narinfos are refused with Nix's message", () => {
    const base = read("none/i9pmrzmpshapij2kin22pff6fc2adavx.narinfo")
    const nixCorrupt = read("errors/corrupt-narsize.err").trim().replace(/^error: /, "")
    const whence = "i9pmrzmpshapij2kin22pff6fc2adavx.narinfo"
    const bad = (text: string) => {
      const r = NarInfo.parseNarInfo(sd, text, whence)
      if (Either.isRight(r)) throw new Error(`accepted: ${JSON.stringify(text)}`)
      return r.left
    }
    expect(bad(base.replace(/^NarSize: .*$/m, "NarSize: 0")).nixMessage).toBe(nixCorrupt)
    expect(bad(base.replace(/^NarSize: .*$/m, "NarSize: -1")).nixMessage).toBe(nixCorrupt)
    expect(bad(base.replace(/^NarSize: .*$/m, "NarSize: 12x")).nixMessage).toBe(nixCorrupt)
    expect(bad(base.replace(/^URL: .*\n/m, "")).nixMessage).toBe(nixCorrupt)
    expect(bad(base.replace(/^StorePath: .*\n/m, "")).nixMessage).toBe(nixCorrupt)
    expect(bad(base.replace(/^NarHash: .*\n/m, "")).nixMessage).toBe(nixCorrupt)
    expect(bad(base.replace(/^NarHash: sha256:/m, "NarHash: ")).nixMessage).toBe(nixCorrupt)
    expect(bad(base.replace(/^FileHash: sha256:.../m, "FileHash: sha256:")).nixMessage).toBe(nixCorrupt)
    expect(bad(base + "CA: text:sha256:1qk8b06d7jxmgknv5x60n9b5y9hp8nnz98126cpmp8y7y34vml16\n").nixMessage).toBe(
      nixCorrupt
    )
    expect(bad(base.slice(0, -1)).nixMessage).toBe(nixCorrupt) // no final newline
    expect(bad("garbage").nixMessage).toBe(nixCorrupt)
    // "References:" without its space swallows the next line (Nix reads the value from colon+2).
    const noSpace = parse(base.replace("References: \n", "References:\n"))
    expect(Either.isLeft(noSpace) || Either.getOrThrow(noSpace).sigs.length === 0).toBe(true)
    // A bad store path is Nix's store path error.
    expect(bad(base.replace(/^StorePath: .*$/m, "StorePath: nonsense")).nixMessage).toBe(
      read("errors/corrupt-storepath.err").trim().replace(/^error: /, "")
    )
    expect(bad(base.replace(/^StorePath: .*$/m, "StorePath: /other/i9pmrzmpshapij2kin22pff6fc2adavx-x"))._tag)
      .toBe("NarInfoParseError")
    expect(bad(base.replace("References: ", "References: not-a-path")).nixMessage).toMatch(/not a valid store path/)
  })
})

describe("nix-cache-info", () => {
  it("Nix's file parses; print gives it back", () => {
    const text = read("xz/nix-cache-info")
    const info = Either.getOrThrow(CacheInfo.parseCacheInfo(text, "file://x"))
    expect(info.storeDir).toEqual(Option.some("/nix/store"))
    expect(CacheInfo.printCacheInfo(info)).toBe(text)
  })

  it("cache.nixos.org's form; unknown lines ignored; values trimmed; a bad Priority refused", () => {
    const info = Either.getOrThrow(
      CacheInfo.parseCacheInfo("StoreDir: /nix/store\nWantMassQuery: 1\nPriority:  40 \njunk\nOther: x\n", "u")
    )
    expect(info).toEqual({
      storeDir: Option.some("/nix/store"),
      wantMassQuery: Option.some(true),
      priority: Option.some(40)
    })
    expect(CacheInfo.printCacheInfo(info)).toBe("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n")
    expect(Either.isLeft(CacheInfo.parseCacheInfo("Priority: high\n", "u"))).toBe(true)
  })
})

describe(".ls listings", () => {
  it("the listing of every NAR equals Nix's .ls byte for byte", () => {
    let n = 0
    for (const f of narInfoFiles("none")) {
      const ni = parseOk(read(`none/${f}`))
      const nar = new Uint8Array(fs.readFileSync(path.join(golden, "none", ni.url)))
      const ls = Either.getOrThrow(Listing.listNar(nar))
      expect(Listing.printNarListing(ls), f).toBe(read(`none/${f.replace(".narinfo", ".ls")}`))
      n++
    }
    expect(n).toBeGreaterThanOrEqual(5)
  })

  it("names that look like numbers keep their byte order; a truncated NAR is an error", () => {
    const ls: Listing.NarListingNode = {
      type: "directory",
      entries: new Map<string, Listing.NarListingNode>([
        ["9", { type: "symlink", target: "x\"y" }],
        ["10", { type: "regular", size: 0, executable: false, narOffset: 8 }]
      ])
    }
    expect(Listing.printNarListing(ls)).toBe(
      "{\"version\":1,\"root\":{\"type\":\"directory\",\"entries\":{\"10\":{\"type\":\"regular\",\"size\":0,\"narOffset\":8},\"9\":{\"type\":\"symlink\",\"target\":\"x\\\"y\"}}}}"
    )
    const nar = new Uint8Array(
      fs.readFileSync(path.join(golden, "none", parseOk(read(`none/${narInfoFiles("none")[0]}`)).url))
    )
    expect(Either.isLeft(Listing.listNar(nar.subarray(0, nar.length - 8)))).toBe(true)
  })
})

describe("keys and signatures", () => {
  const sk = Either.getOrThrow(Signing.parseSecretKey(read("keys/test-1.sec")))
  const pk = Either.getOrThrow(Signing.parsePublicKey(read("keys/test-1.pub")))
  const keys = Signing.makePublicKeys([pk])

  it("Nix's key files: the secret key's public half is Nix's public key; they print back", () => {
    expect(sk.name).toBe("test-1")
    expect(Signing.printPublicKey(Signing.toPublicKey(sk))).toBe(read("keys/test-1.pub"))
    expect(Signing.printSecretKey(sk)).toBe(read("keys/test-1.sec"))
  })

  it("the notes' test vector: same key and fingerprint give the same signature", () => {
    const k = Either.getOrThrow(
      Signing.parseSecretKey(
        "test-1:mGQg+9zSMg3pgpQAPjLnhjeq8JQxZtEvG1r02K+j4LvaMjVow/6M0OQJVnvZAZba7fL/2QT9v2ztpIlGg8RU2g=="
      )
    )
    const fp =
      "1;/nix/store/gxx02a721js61r91micwsx59467fay0s-simple;sha256:02pn2grqgibh5s27wr31xnkj2sjnwic2l7cc1x8lkfxkn0xqvbl2;1592;/nix/store/bpm9b93rbccn4k269f6yf5h75d4qmzwa-dep,/nix/store/gxx02a721js61r91micwsx59467fay0s-simple"
    expect(Signing.signDetached(k, fp)).toBe(
      "test-1:myJXp+xV9/616EJhKJBvp3jivpSOdUHo32jUCZQ22ZrYpEocdQ0ztw+r35n18PKYJ2ZvZlyNwjQw6ZOheoS5BA=="
    )
  })

  it("tsnix's Sig bytes equal Nix's for every path (nix copy with secret-key= and nix store sign)", () => {
    let n = 0
    for (const f of narInfoFiles("xz")) {
      const ni = parseOk(read(`xz/${f}`))
      const mine = Either.getOrThrow(Signing.signPathInfo(sk, ni))
      expect(ni.sigs).toEqual([mine])
      expect(Signing.countValidSignatures(ni, keys)).toEqual(Either.right(1))
      n++
    }
    expect(n).toBe(7)
    const local = read("path-info-local-signed.json").trim().split("\n").flatMap((l) =>
      JSON.parse(l) as Array<{ path: string; signatures: Array<string> }>
    )
    for (const entry of local) {
      const f = NarInfo.narInfoFileFor(StorePath.unsafeMake(sd, entry.path))
      const ni = parseOk(read(`xz/${f}`))
      expect(entry.signatures).toEqual([Either.getOrThrow(Signing.signPathInfo(sk, ni))])
    }
  })

  it("verification: a wrong signature, an unknown key, a changed fingerprint fail; a short one is an error", () => {
    const ni = parseOk(read("none/yy3q3nmycrzjsy7c37wnakdchwyp36m5.narinfo"))
    const fp = Either.getOrThrow(PathInfo.fingerprint(ni))
    const sig = ni.sigs[0]!
    expect(Signing.verifyDetached(fp, sig, keys)).toEqual(Either.right(true))
    expect(Signing.verifyDetached(fp + "x", sig, keys)).toEqual(Either.right(false))
    expect(Signing.verifyDetached(fp, sig.replace("test-1:", "other:"), keys)).toEqual(Either.right(false))
    const flipped = Buffer.from(sig.slice(7), "base64")
    flipped[0] = flipped[0]! ^ 1
    expect(Signing.verifyDetached(fp, `test-1:${flipped.toString("base64")}`, keys)).toEqual(Either.right(false))
    expect(Either.isLeft(Signing.verifyDetached(fp, "test-1:AAAA", keys))).toBe(true)
    expect(Signing.checkSignatures(sd, { ...ni, sigs: [] }, keys)).toEqual(Either.right(0))
  })

  it("content-addressed paths need no signature; a path claiming a wrong CA does", () => {
    const leaf = parseOk(read("unsigned/j75xh205rjvwmp2h61zsnhmpds3ixp0y.narinfo"))
    const tree = parseOk(read("unsigned/8izgxfhfipwkgpf9skis0hifmva7mc8g.narinfo"))
    expect(Signing.checkSignatures(sd, leaf, keys)).toEqual(Either.right(Infinity))
    expect(Signing.checkSignatures(sd, tree, keys)).toEqual(Either.right(Infinity))
    expect(Signing.isContentAddressed(sd, { ...tree, ca: leaf.ca })).toBe(false)
  })

  it("bad key files: Nix's messages", () => {
    const msg = (r: Either.Either<unknown, Signing.KeyParseError>) => Either.isLeft(r) ? r.left.message : "ok"
    expect(msg(Signing.parseSecretKey("nocolon"))).toBe("secret key is corrupt")
    expect(msg(Signing.parseSecretKey(":abc"))).toBe("secret key is corrupt")
    expect(msg(Signing.parseSecretKey(read("keys/test-1.pub")))).toBe("secret key is not valid")
    expect(msg(Signing.parsePublicKey(read("keys/test-1.sec")))).toBe("public key is not valid")
    // A trailing newline (a hand-edited file) is skipped as Nix skips it.
    expect(msg(Signing.parseSecretKey(read("keys/test-1.sec") + "\n"))).toBe("ok")
  })

  it.effect.prop("generated keys sign and verify; the secret key file round-trips", [
    fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
    fc.string()
  ], ([name, data]) =>
    Effect.sync(() => {
      const k = Signing.generateSecretKey(name)
      const again = Either.getOrThrow(Signing.parseSecretKey(Signing.printSecretKey(k)))
      expect(again).toEqual(k)
      const sig = Signing.signDetached(k, data)
      expect(Signing.verifyDetached(data, sig, Signing.makePublicKeys([Signing.toPublicKey(k)]))).toEqual(
        Either.right(true)
      )
    }), { fastCheck: { numRuns: 30 } })
})
