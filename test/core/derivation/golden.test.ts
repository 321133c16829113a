import { describe, expect, it } from "@effect/vitest"
import { Buffer } from "node:buffer"
import { Either } from "effect"
import {
  checkOutputPaths,
  computeOutputPaths,
  derivationStorePath,
  fromShowDerivationJsonBytes,
  hashDerivationModulo,
  parseDerivation,
  printDerivation,
  printShowDerivationJson,
  showDerivationJson,
  validateDerivationShape
} from "../../../src/core/derivation/index.js"
import type { DrvHashModulo } from "../../../src/core/derivation/index.js"
import type { Derivation } from "../../../src/core/derivation/schema.js"
import { goldenAllJson, goldenDrvs, goldenIndex } from "./golden.js"

const parsed = new Map<string, Derivation>(
  goldenDrvs.map((g) => [g.storePath, Either.getOrThrow(parseDerivation(g.bytes, { file: g.storePath }))])
)
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1")

describe("golden derivations (Nix 2.8)", () => {
  it("covers the cases the issue asks for", () => {
    expect(goldenDrvs.length).toBeGreaterThanOrEqual(14)
    const all = goldenDrvs.map((g) => text(g.bytes)).join("\n")
    for (
      const needle of [
        "\"r:sha256\"",
        "\"sha1\"",
        "\"r:sha512\"",
        "__json",
        "\\\"",
        "\\\\",
        "\\n",
        "\\r",
        "\\t",
        "${",
        "\xff",
        "\x01",
        "[]",
        "\"\""
      ]
    ) {
      expect(all).toContain(needle)
    }
  })

  for (const g of goldenDrvs) {
    describe(g.storePath.slice(44), () => {
      const drv = parsed.get(g.storePath)!

      it("prints back byte for byte", () => {
        expect(Buffer.compare(Buffer.from(printDerivation(drv)), Buffer.from(g.bytes))).toBe(0)
      })

      it("shows the same JSON bytes as nix show-derivation", () => {
        expect(text(printShowDerivationJson([[g.storePath, drv]]))).toBe(text(g.json))
      })

      it("gets the same derivation back from Nix's JSON", () => {
        const back = Either.getOrThrow(fromShowDerivationJsonBytes(g.json))
        expect(back).toHaveLength(1)
        expect(back[0]!.path).toBe(g.storePath)
        expect(back[0]!.drv.name).toBe(drv.name)
        expect(text(printDerivation(back[0]!.drv))).toBe(text(g.bytes))
      })

      it("recomputes its .drv store path from the printed bytes", () => {
        expect(Either.getOrThrow(derivationStorePath(drv, printDerivation(drv)))).toBe(g.storePath)
      })

      it("computes Nix's output paths and validates", () => {
        const memo = new Map<string, DrvHashModulo>()
        const lookup = (p: string): DrvHashModulo | undefined => {
          if (!memo.has(p)) memo.set(p, Either.getOrThrow(hashDerivationModulo(parsed.get(p)!, false, lookup)))
          return memo.get(p)
        }
        const masked = Either.getOrThrow(hashDerivationModulo(drv, true, lookup))
        const paths = Either.getOrThrow(computeOutputPaths(drv, masked))
        expect(new Set(paths.keys())).toEqual(new Set(drv.outputs.keys()))
        for (const [name, o] of drv.outputs) expect(paths.get(name)).toBe(o.path)
        expect(Either.isRight(checkOutputPaths(drv, paths))).toBe(true)
        expect(Either.isRight(validateDerivationShape(drv))).toBe(true)
      })
    })
  }

  it("show-derivation of several paths is one object keyed by sorted path", () => {
    const entries = goldenIndex.map(([, p]) => [p, parsed.get(p)!] as const)
    expect(text(printShowDerivationJson(entries))).toBe(text(goldenAllJson))
    const obj = showDerivationJson(entries)
    expect(Object.keys(obj)).toEqual(goldenIndex.map(([, p]) => p).sort())
    // The object form is ordinary text: equal to JSON.parse of Nix's output where that is UTF-8.
    const simple = goldenIndex.find(([f]) => f === "structured")![1]
    expect(obj[simple]).toEqual(JSON.parse(Buffer.from(goldenAllJson).toString("utf8"))[simple])
  })

  it("reads the keyed document with several derivations", () => {
    const back = Either.getOrThrow(fromShowDerivationJsonBytes(goldenAllJson))
    expect(back.map((x) => x.path)).toEqual(goldenIndex.map(([, p]) => p).sort())
    for (const { path, drv } of back) {
      expect(text(printDerivation(drv))).toBe(text(goldenDrvs.find((g) => g.storePath === path)!.bytes))
    }
  })
})
