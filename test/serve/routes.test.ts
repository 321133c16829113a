/** The serve URL grammar and byte ranges: only cache names pass; ranges as RFC 9110 says. */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { nix32Alphabet } from "../../src/core/nix32.js"
import { contentRange, parseRange } from "../../src/serve/range.js"
import { parseRoute } from "../../src/serve/routes.js"

const hp = "0g15fd8vnnjpmkhl6fhrqw6ngz4b3a1j"
const nh = "1f72wc0qmbjrk9ly65qx9k16arv0vglnlzfqj8x389zxbv6bs6ww"

describe("parseRoute", () => {
  it("names of a cache", () => {
    expect(parseRoute("/nix-cache-info")).toEqual({ _tag: "CacheInfo" })
    expect(parseRoute(`/${hp}.narinfo`)).toEqual({ _tag: "NarInfo", hashPart: hp })
    expect(parseRoute(`/${hp}.ls`)).toEqual({ _tag: "Listing", hashPart: hp })
    expect(parseRoute(`/nar/${hp}-${nh}.nar`)).toEqual({ _tag: "Nar", hashPart: hp, narHash: nh, compression: "none" })
    expect(parseRoute(`/nar/${hp}-${nh}.nar.xz`)).toMatchObject({ compression: "xz" })
    expect(parseRoute(`/nar/${hp}-${nh}.nar.zst`)).toMatchObject({ compression: "zstd" })
    expect(parseRoute(`/nar/${nh}.nar?hash=${hp}`)).toEqual({
      _tag: "Nar",
      hashPart: hp,
      narHash: nh,
      compression: "none"
    })
    expect(parseRoute(`/nar/${hp}.nar`)).toEqual({ _tag: "Nar", hashPart: hp, narHash: undefined, compression: "none" })
    expect(parseRoute(`/log/${hp}-hello.drv`)).toEqual({ _tag: "Log", drvBaseName: `${hp}-hello.drv` })
  })

  it("malformed URLs are 400", () => {
    for (
      const u of [
        `/../${hp}.narinfo`,
        `/nar/../../etc/passwd`,
        `/log/../../../etc/passwd`,
        `/log/${hp}-x.drv/..`,
        `/%2e%2e/etc/passwd`,
        `/nar/%2e%2e%2fetc`,
        `/${hp.toUpperCase()}.narinfo`,
        `/${hp}e.narinfo`,
        `/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.narinfo`,
        `/nar/${hp}-${nh}.nar.gz`,
        `/nar/${hp}-${nh}.txt`,
        `/nar/${hp}-${nh.slice(1)}.nar`,
        `/nar/${nh}.nar?hash=../../x`,
        `/log/${hp}-hello`,
        `/log/${hp}-.drv`,
        `/log/${hp}-a b.drv`,
        `//etc/passwd`,
        `/nar//x`,
        `relative`,
        `/nix-cache-info?<script>`
      ]
    ) expect(parseRoute(u)._tag, u).toBe("BadRequest")
  })

  it("other well-formed names are 404", () => {
    for (const u of ["/", "/index.html", "/etc/passwd", "/a/b/c", "/realisations/x.doi", `/nar/${nh}.nar`]) {
      expect(parseRoute(u)._tag, u).toBe("NotFound")
    }
  })

  it.prop(
    "any target is a route, and only hash parts and NAR names reach the store",
    [fc.string({ unit: fc.constantFrom(..."/.%?=&-_abc019xz", ...nix32Alphabet), maxLength: 100 })],
    ([target]) => {
      const r = parseRoute(`/${target}`)
      if (r._tag === "NarInfo" || r._tag === "Listing" || r._tag === "Nar") {
        expect(r.hashPart).toMatch(/^[0-9a-df-np-sv-z]{32}$/)
      }
      if (r._tag === "Log") expect(r.drvBaseName).not.toMatch(/\/|\.\./)
    }
  )
})

describe("parseRange", () => {
  it("single ranges", () => {
    expect(parseRange(undefined, 100)).toEqual({ _tag: "Full" })
    expect(parseRange("bytes=0-9", 100)).toEqual({ _tag: "Partial", start: 0, end: 9 })
    expect(parseRange("bytes=90-", 100)).toEqual({ _tag: "Partial", start: 90, end: 99 })
    expect(parseRange("bytes=90-1000", 100)).toEqual({ _tag: "Partial", start: 90, end: 99 })
    expect(parseRange("bytes=-10", 100)).toEqual({ _tag: "Partial", start: 90, end: 99 })
    expect(parseRange("bytes=-1000", 100)).toEqual({ _tag: "Partial", start: 0, end: 99 })
    expect(parseRange("bytes=100-", 100)).toEqual({ _tag: "Unsatisfiable" })
    expect(parseRange("bytes=-0", 100)).toEqual({ _tag: "Unsatisfiable" })
    expect(contentRange({ _tag: "Partial", start: 0, end: 9 }, 100)).toBe("bytes 0-9/100")
    expect(contentRange({ _tag: "Unsatisfiable" }, 100)).toBe("bytes */100")
  })

  it("malformed or multiple ranges: the whole resource", () => {
    for (const h of ["items=0-1", "bytes=a-b", "bytes=5-1", "bytes=0-1,5-6", "bytes=", "bytes=--1"]) {
      expect(parseRange(h, 100), h).toEqual({ _tag: "Full" })
    }
  })

  it.prop(
    "a partial answer lies inside the resource",
    [fc.nat(1000), fc.nat(1000), fc.integer({ min: 1, max: 1000 })],
    ([a, b, size]) => {
      const r = parseRange(`bytes=${a}-${b}`, size)
      if (r._tag === "Partial") {
        expect(r.start).toBeGreaterThanOrEqual(0)
        expect(r.end).toBeLessThan(size)
        expect(r.start).toBeLessThanOrEqual(r.end)
      }
    }
  )
})
