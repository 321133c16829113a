import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import type { Hash } from "../../src/core/hash.js"
import { hashBytes, hashEquals, printHash } from "../../src/core/hash.js"
import { encodeNix32 } from "../../src/core/nix32.js"
import type { StorePath } from "../../src/core/storePath.js"
import {
  InvalidStorePathError,
  makeContentAddressedPath,
  makeFixedOutputPath,
  makeStorePath,
  makeTextPath,
  parseContentAddress,
  parseStorePath,
  renderContentAddress,
  storePathToString,
  toStorePath,
  validateStorePathName
} from "../../src/core/storePath.js"
import type { GoldenPath } from "./goldenCore.js"
import { fromHex, goldenInput, goldenPaths } from "./goldenCore.js"

const storeDirOf = (p: string) => p.slice(0, p.lastIndexOf("/"))
const str = (storeDir: string, p: StorePath) => storePathToString(storeDir, p)
const paths = (kind: GoldenPath["kind"]) => goldenPaths.paths.filter((p) => p.kind === kind)
const hashOf = (g: GoldenPath): Hash => ({ algo: g.algo ?? "sha256", bytes: fromHex(g.hash ?? "") })

describe("store paths", () => {
  it("computes the source paths nix-store --add printed (both store dirs, edge names)", () => {
    const src = paths("source")
    expect(src.length).toBeGreaterThanOrEqual(19)
    expect(src.some((g) => g.path.startsWith("/my/store/"))).toBe(true)
    for (const g of src) {
      const sd = storeDirOf(g.path)
      const h: Hash = { algo: "sha256", bytes: fromHex(g.narHash ?? "") }
      expect(str(sd, makeFixedOutputPath(sd, g.name, "recursive", h)), g.name).toBe(g.path)
      expect(str(sd, makeStorePath(sd, "source", h, g.name))).toBe(g.path)
      expect(renderContentAddress("recursive", h)).toBe(g.ca)
    }
  })

  it("computes the fixed-output paths nix-store --add-fixed printed (every method and algorithm)", () => {
    const fixed = paths("fixed")
    const combos = new Set(fixed.map((g) => `${g.method}/${g.algo}/${storeDirOf(g.path)}`))
    expect(combos.size).toBe(2 * 4 * 2)
    let flatChecked = 0
    for (const g of fixed) {
      const sd = storeDirOf(g.path)
      const h = hashOf(g)
      const method = g.method ?? "flat"
      if (method === "flat") {
        const bytes = goldenInput(g.input ?? "")
        if (bytes !== undefined) {
          expect(printHash(hashBytes(h.algo, bytes), "base16")).toBe(g.hash)
          flatChecked++
        }
      }
      expect(str(sd, makeFixedOutputPath(sd, g.name, method, h)), JSON.stringify(g)).toBe(g.path)
      expect(renderContentAddress(method, h)).toBe(g.ca)
      const ca = Either.getOrThrow(parseContentAddress(g.ca ?? ""))
      expect(ca.method).toBe(method)
      expect(hashEquals(ca.hash, h)).toBe(true)
      expect(str(sd, makeContentAddressedPath(sd, g.name, ca))).toBe(g.path)
    }
    expect(flatChecked).toBe(5 * 4 * 2)
  })

  it("computes text paths (toFile, references, a .drv) from their contents", () => {
    const text = paths("text")
    expect(text.length).toBe(6)
    expect(text.find((g) => g.name === "foo")?.path).toBe("/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo")
    expect(text.some((g) => g.references.length >= 2)).toBe(true)
    for (const g of text) {
      const h = hashBytes("sha256", g.contents ?? "")
      expect(str("/nix/store", makeTextPath("/nix/store", g.name, h, g.references)), g.name).toBe(g.path)
      // references are sorted and deduplicated whatever order they come in
      const shuffled = [...g.references].reverse().concat(g.references)
      expect(str("/nix/store", makeTextPath("/nix/store", g.name, h, shuffled))).toBe(g.path)
      expect(renderContentAddress("text", h)).toBe(g.ca)
      const ca = Either.getOrThrow(parseContentAddress(g.ca ?? ""))
      expect(str("/nix/store", makeContentAddressedPath("/nix/store", g.name, ca, g.references))).toBe(g.path)
    }
  })

  it("computes a source path with a self reference (nix store make-content-addressed)", () => {
    const [g] = paths("selfref")
    expect(g).toBeDefined()
    if (g === undefined) return
    expect(g.references.length).toBe(1)
    const ca = Either.getOrThrow(parseContentAddress(g.ca ?? ""))
    expect(ca.method).toBe("recursive")
    expect(str("/nix/store", makeFixedOutputPath("/nix/store", g.name, "recursive", ca.hash, g.references, true))).toBe(
      g.path
    )
    expect(str("/nix/store", makeFixedOutputPath("/nix/store", g.name, "recursive", ca.hash, g.references, false))).not
      .toBe(
        g.path
      )
    expect(str("/nix/store", makeContentAddressedPath("/nix/store", g.name, ca, g.references, true))).toBe(g.path)
  })

  it("accepts exactly the names Nix 2.8 accepts, minus '.', '..', '.-*' and '..-*'", () => {
    const stricter = new Set([".", "..", ".-x", "..-x"])
    const x = hashBytes("sha256", "x")
    expect(goldenPaths.names.length).toBeGreaterThan(15)
    for (const g of goldenPaths.names) {
      const v = validateStorePathName(g.name)
      if (Either.isRight(v)) {
        expect(g.acceptedByNix28, g.name).toBe(true)
        expect(str("/nix/store", makeTextPath("/nix/store", g.name, x, []))).toBe(g.path)
      } else {
        expect(v.left).toBeInstanceOf(InvalidStorePathError)
        expect(g.acceptedByNix28 === false || stricter.has(g.name), g.name).toBe(true)
      }
    }
    expect(stricter.size).toBe(goldenPaths.names.filter((g) => stricter.has(g.name)).length)
  })

  it("parses and prints store paths", () => {
    for (const g of goldenPaths.paths) {
      const sd = storeDirOf(g.path)
      const p = Either.getOrThrow(parseStorePath(sd, g.path))
      expect(p.name).toBe(g.name)
      expect(str(sd, p)).toBe(g.path)
      const t = Either.getOrThrow(toStorePath(sd, `${g.path}/bin/sh`))
      expect(t.rest).toBe("/bin/sh")
      expect(str(sd, t.path)).toBe(g.path)
      expect(Either.getOrThrow(toStorePath(sd, g.path)).rest).toBe("")
      expect(Either.isLeft(parseStorePath(sd, `${g.path}/bin`))).toBe(true)
    }
    expect(Either.isRight(parseStorePath("/nix/store/", "/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo"))).toBe(true)
  })

  it("rejects malformed store paths with a typed error", () => {
    const h = "vxjiwkjkn7x4079qvh1jkl5pn05j2aw0"
    const bad = [
      "",
      "/nix/store",
      "/nix/store/",
      `/nix/store/${h}`,
      `/nix/store/${h}-`,
      `/nix/store/${h}foo`,
      `/nix/store/${h}_foo`,
      `/nix/store/${h.slice(1)}-foo`,
      `/nix/store/e${h.slice(1)}-foo`,
      `/nix/store/o${h.slice(1)}-foo`,
      `/nix/store/u${h.slice(1)}-foo`,
      `/nix/store/t${h.slice(1)}-foo`,
      `/nix/store/V${h.slice(1)}-foo`,
      `/nix/store/${h}-foo/`,
      `/nix/store/${h}-a b`,
      `/nix/store/${h}-.`,
      `/nix/store/${h}-..`,
      `/nix/store/${h}-.-foo`,
      `/nix/store/${h}-..-foo`,
      `/nix/store/${h}-${"n".repeat(212)}`,
      `/nix/storex/${h}-foo`,
      `/gnu/store/${h}-foo`,
      `nix/store/${h}-foo`,
      `/nix/store//${h}-foo`
    ]
    for (const s of bad) {
      const r = parseStorePath("/nix/store", s)
      expect(Either.isLeft(r), s).toBe(true)
      if (Either.isLeft(r)) {
        expect(r.left._tag).toBe("InvalidStorePathError")
        expect(r.left.path).toBe(s)
      }
    }
    expect(Either.isRight(parseStorePath("/nix/store", `/nix/store/${h}-${"n".repeat(211)}`))).toBe(true)
    expect(Either.isLeft(toStorePath("/nix/store", `/nix/store/${h}`))).toBe(true)
    expect(Either.isLeft(toStorePath("/nix/store", `/nix/store/../${h}-foo`))).toBe(true)
  })

  it("refuses impossible requests loudly", () => {
    const md5 = hashBytes("md5", "x")
    const sha = hashBytes("sha256", "x")
    const ref = "/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo"
    expect(() => makeFixedOutputPath("/nix/store", "x", "flat", sha, [ref])).toThrow(InvalidStorePathError)
    expect(() => makeFixedOutputPath("/nix/store", "x", "recursive", md5, [], true)).toThrow(InvalidStorePathError)
    expect(() => makeTextPath("/nix/store", "x", md5, [])).toThrow(InvalidStorePathError)
    expect(() => makeTextPath("/nix/store", "a b", sha, [])).toThrow(InvalidStorePathError)
    expect(() => makeContentAddressedPath("/nix/store", "x", { method: "text", hash: sha }, [], true)).toThrow(
      InvalidStorePathError
    )
    for (
      const s of [
        "",
        "text:",
        "text:md5:" + printHash(md5, "nix32"),
        "fixed:sha256",
        "fixed:r:sha256:zz",
        "foo:sha256:x"
      ]
    ) {
      expect(Either.isLeft(parseContentAddress(s)), s).toBe(true)
    }
  })

  const nameArb = FastCheck.stringMatching(/^[0-9a-zA-Z+\-._?=]{1,211}$/)
  const hashPartArb = FastCheck.uint8Array({ minLength: 20, maxLength: 20 }).map(encodeNix32)

  it.prop("valid store paths round-trip", { hashPart: hashPartArb, name: nameArb }, ({ hashPart, name }) => {
    const s = `/nix/store/${hashPart}-${name}`
    const r = parseStorePath("/nix/store", s)
    const nameOk = Either.isRight(validateStorePathName(name))
    expect(Either.isRight(r)).toBe(nameOk)
    if (Either.isRight(r)) expect(str("/nix/store", r.right)).toBe(s)
  }, { fastCheck: { numRuns: 500 } })

  it.prop(
    "random strings give a path or a typed error, never an exception",
    {
      s: FastCheck.oneof(
        FastCheck.string({ maxLength: 300 }),
        FastCheck.tuple(hashPartArb, FastCheck.string({ maxLength: 40 })).map(([h, n]) => `/nix/store/${h}-${n}`),
        FastCheck.stringMatching(/^\/nix\/store\/[0-9a-z]{30,34}[-_][\x20-\x7e]{0,20}$/)
      )
    },
    ({ s }) => {
      const results: ReadonlyArray<Either.Either<unknown, InvalidStorePathError>> = [
        parseStorePath("/nix/store", s),
        toStorePath("/nix/store", s),
        validateStorePathName(s)
      ]
      for (const r of results) {
        if (Either.isLeft(r)) expect(r.left._tag).toBe("InvalidStorePathError")
      }
      const ca = parseContentAddress(s)
      if (Either.isLeft(ca)) expect(ca.left._tag).toBe("InvalidContentAddressError")
    },
    { fastCheck: { numRuns: 1000 } }
  )
})
