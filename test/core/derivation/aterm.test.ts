import { describe, expect, it } from "@effect/vitest"
import { Buffer } from "node:buffer"
import { Either, FastCheck as fc } from "effect"
import {
  DerivationParseError,
  derivationNameFromPath,
  parseDerivation,
  printDerivation
} from "../../../src/core/derivation/index.js"
import type { Derivation, DerivationOutput } from "../../../src/core/derivation/schema.js"
import { goldenDrvs } from "./golden.js"

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"))
const parseErr = (s: string, file?: string): DerivationParseError => {
  const r = parseDerivation(bytes(s), file === undefined ? {} : { file })
  if (Either.isRight(r)) throw new Error(`expected a parse error for ${JSON.stringify(s)}`)
  expect(r.left).toBeInstanceOf(DerivationParseError)
  return r.left
}
const minimal = `Derive([("out","/nix/store/x-a","","")],[],[],"sys","/bin/sh",[],[("out","/nix/store/x-a")])`

describe("parseDerivation", () => {
  it("parses a minimal derivation and takes the name from env, file or option", () => {
    const d = Either.getOrThrow(
      parseDerivation(bytes(minimal.replace(`[("out","/nix/store/x-a")]`, `[("name","nm"),("out","/nix/store/x-a")]`)))
    )
    expect(d.name).toBe("nm")
    expect(d.system).toBe("sys")
    expect(
      Either.getOrThrow(
        parseDerivation(bytes(minimal), { file: "/nix/store/2wwpgwhlrid6ypd4f01r72hdpr4l7qgz-simple.drv" })
      ).name
    ).toBe("simple")
    expect(Either.getOrThrow(parseDerivation(bytes(minimal), { name: "given" })).name).toBe("given")
    expect(derivationNameFromPath("some/dir/foo.drv")).toBe("foo")
  })

  it("reports empty input with file, offset, line, column and what was expected", () => {
    const e = parseErr("", "/tmp/empty.drv")
    expect(e).toMatchObject({ file: "/tmp/empty.drv", offset: 0, line: 1, column: 1, found: "end of input" })
    expect(e.expected).toContain("Derive(")
    expect(e.message).toContain("/tmp/empty.drv:1:1")
  })

  it("reports every truncation of a real derivation as an error", () => {
    const g = goldenDrvs.find((x) => x.storePath.endsWith("-strings.drv"))!
    for (let n = 0; n < g.bytes.length; n++) {
      const r = parseDerivation(g.bytes.subarray(0, n))
      expect(Either.isLeft(r)).toBe(true)
      if (Either.isLeft(r)) {
        expect(r.left.offset).toBeLessThanOrEqual(n)
        expect(r.left.offset).toBeGreaterThanOrEqual(0)
      }
    }
  })

  it("computes line and column after newlines", () => {
    const e = parseErr(`Derive([("out","a\nb\ncd",x`)
    expect(e).toMatchObject({ line: 3, column: 5, offset: 24 })
    expect(e.expected).toBe("'\"' (a string)")
    expect(e.found).toBe("\"x\"")
  })

  it("rejects trailing bytes, even a newline", () => {
    expect(parseErr(minimal + "\n")).toMatchObject({ offset: minimal.length, expected: "end of input" })
    expect(parseErr(minimal + "Derive(").expected).toBe("end of input")
  })

  it("rejects unterminated strings and bad escapes", () => {
    expect(parseErr(`Derive([("out`).expected).toContain("closing the string opened at byte 9")
    expect(parseErr(`Derive([("o\\`).expected).toContain("closing the string")
    const e = parseErr(`Derive([("o\\x","","","")],[],[],"","",[],[])`)
    expect(e.offset).toBe(11)
    expect(e.expected).toContain("escape")
  })

  it("rejects duplicate outputs, env vars, input derivations, input sources and output names", () => {
    const dupOut = parseErr(`Derive([("out","","",""),("out","","","")],[],[],"","",[],[])`)
    expect(dupOut.found).toBe("duplicate \"out\"")
    expect(dupOut.offset).toBe(26)
    expect(parseErr(`Derive([],[],[],"","",[],[("a","1"),("b","2"),("a","3")])`).expected).toContain(
      "environment variable"
    )
    expect(parseErr(`Derive([],[("/d.drv",["out"]),("/d.drv",["out"])],[],"","",[],[])`).expected).toContain(
      "input derivation"
    )
    expect(parseErr(`Derive([],[],["/b","/a","/b"],"","",[],[])`).expected).toContain("input source")
    expect(parseErr(`Derive([],[("/d.drv",["out","out"])],[],"","",[],[])`).expected).toContain("output name")
  })

  it("rejects malformed lists", () => {
    expect(parseErr(`Derive([],[],["/a" "/b"],"","",[],[])`).expected).toBe("',' or ']'")
    expect(parseErr(`Derive([],[],[,"/a"],"","",[],[])`).expected).toContain("string")
    expect(parseErr(`Derive([],[],["/a",],"","",[],[])`).expected).toContain("string")
  })

  it("prints unsorted derivations sorted, as Nix does", () => {
    const d = Either.getOrThrow(
      parseDerivation(bytes(`Derive([],[],["/b","/a"],"","",["z","a"],[("b","1"),("a","2")])`))
    )
    expect(Buffer.from(printDerivation(d)).toString("latin1")).toBe(
      `Derive([],[],["/a","/b"],"","",["z","a"],[("a","2"),("b","1")])`
    )
  })
})

// --- property tests -------------------------------------------------------

const special = fc.constantFrom(
  "\"",
  "\\",
  "\n",
  "\r",
  "\t",
  "$",
  "{",
  "(",
  ")",
  ",",
  "[",
  "]",
  "a",
  "\xe9",
  "\xff",
  "\x00",
  "\x7f"
)
const byteString = fc.oneof(
  fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b).toString("latin1")),
  fc.array(special, { maxLength: 12 }).map((xs) => xs.join(""))
)
const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const sortedUnique = (arb: fc.Arbitrary<string>, maxLength: number) =>
  fc.uniqueArray(arb, { maxLength }).map((xs) => [...xs].sort(byteOrder))
const output: fc.Arbitrary<DerivationOutput> = fc.record({ path: byteString, hashAlgo: byteString, hash: byteString })

const derivationArb: fc.Arbitrary<Derivation> = fc.record({
  name: fc.constant("gen"),
  outputs: fc.uniqueArray(fc.tuple(byteString, output), { maxLength: 4, selector: (x) => x[0] }).map((xs) =>
    new Map(xs)
  ),
  inputDrvs: fc
    .uniqueArray(fc.tuple(byteString, sortedUnique(byteString, 3)), { maxLength: 4, selector: (x) => x[0] })
    .map((xs) => new Map<string, ReadonlyArray<string>>(xs)),
  inputSrcs: sortedUnique(byteString, 4),
  system: byteString,
  builder: byteString,
  args: fc.array(byteString, { maxLength: 5 }),
  env: fc.uniqueArray(fc.tuple(byteString, byteString), { maxLength: 8, selector: (x) => x[0] }).map((xs) =>
    new Map(xs)
  )
})

describe("parseDerivation / printDerivation properties", () => {
  it.prop("parse(print(d)) is d, and printing again gives the same bytes", [derivationArb], ([d]) => {
    const printed = printDerivation(d)
    const back = Either.getOrThrow(parseDerivation(printed, { name: "gen" }))
    expect(back).toEqual(d)
    expect(Buffer.compare(Buffer.from(printDerivation(back)), Buffer.from(printed))).toBe(0)
  })

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(), byte: fc.constant(0) }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), byte: fc.constant(0) })
  )

  it.prop(
    "mutated derivations parse or give a typed error, never a throw",
    [derivationArb, fc.array(mutation, { minLength: 1, maxLength: 4 })],
    ([d, muts]) => {
      let b = Buffer.from(printDerivation(d))
      for (const m of muts) {
        const at = b.length === 0 ? 0 : m.at % (b.length + 1)
        if (m.kind === "flip" && at < b.length) b[at] = m.byte
        else if (m.kind === "truncate") b = b.subarray(0, at)
        else if (m.kind === "insert") b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)])
        else if (m.kind === "delete") b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)])
      }
      const r = parseDerivation(b, { file: "mutant.drv" })
      if (Either.isLeft(r)) {
        expect(r.left._tag).toBe("DerivationParseError")
        expect(r.left.file).toBe("mutant.drv")
        expect(r.left.offset).toBeGreaterThanOrEqual(0)
        expect(r.left.offset).toBeLessThanOrEqual(b.length)
        expect(r.left.line).toBeGreaterThanOrEqual(1)
      } else {
        // Whatever parsed prints and re-parses to the same derivation.
        const again = Either.getOrThrow(parseDerivation(printDerivation(r.right), { file: "mutant.drv" }))
        expect(Buffer.from(printDerivation(again)).equals(Buffer.from(printDerivation(r.right)))).toBe(true)
      }
    }
  )
})
