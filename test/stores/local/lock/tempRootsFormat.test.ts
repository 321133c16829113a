import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { encodeTempRoot, parseTempRoots } from "../../../../src/stores/local/lock/tempRootsFormat.js"

const concat = (parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

describe("temp roots file format", () => {
  it("is the paths, each followed by NUL", () => {
    expect(Buffer.from(encodeTempRoot("/nix/store/abc-x")).toString("latin1")).toBe("/nix/store/abc-x\0")
    expect(parseTempRoots(Buffer.from("/nix/store/a\0/nix/store/b\0"))).toEqual(["/nix/store/a", "/nix/store/b"])
  })

  it("ignores a trailing fragment without NUL (a write in progress) and empty entries", () => {
    expect(parseTempRoots(Buffer.from("/nix/store/a\0/nix/sto"))).toEqual(["/nix/store/a"])
    expect(parseTempRoots(Buffer.from("\0\0/nix/store/a\0"))).toEqual(["/nix/store/a"])
    expect(parseTempRoots(new Uint8Array())).toEqual([])
    expect(parseTempRoots(Buffer.from("d"))).toEqual([]) // a file marked deleted by a collector
  })

  it.prop("parse inverts concatenated encodings", [
    FastCheck.array(FastCheck.string({ minLength: 1 }).filter((s) => !s.includes("\0")))
  ], ([paths]) => {
    expect(parseTempRoots(concat(paths.map(encodeTempRoot)))).toEqual(paths)
  })
})
