import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import {
  checkOutputPaths,
  derivationType,
  parseDerivation,
  validateDerivationShape
} from "../../../src/core/derivation/index.js"
import type { Derivation, DerivationOutput } from "../../../src/core/derivation/schema.js"
import { goldenDrvs } from "./golden.js"

const load = (suffix: string): Derivation => {
  const g = goldenDrvs.find((x) => x.storePath.endsWith(suffix))!
  return Either.getOrThrow(parseDerivation(g.bytes, { file: g.storePath }))
}
const fixed = load("-flat-sha256.drv")
const multi = load("-multi.drv")
const reason = (e: Either.Either<unknown, { reason: string }>): string => {
  if (Either.isRight(e)) throw new Error("expected a validation error")
  return e.left.reason
}
const withOutputs = (d: Derivation, outputs: ReadonlyArray<readonly [string, DerivationOutput]>): Derivation => ({
  ...d,
  outputs: new Map(outputs)
})

describe("validateDerivationShape", () => {
  it("accepts the golden derivations", () => {
    for (const g of goldenDrvs) {
      expect(validateDerivationShape(Either.getOrThrow(parseDerivation(g.bytes, { file: g.storePath })))).toEqual(
        Either.right(undefined)
      )
    }
  })

  it("requires a fixed-output derivation to have exactly one output named out", () => {
    const out = fixed.outputs.get("out")!
    expect(reason(validateDerivationShape(withOutputs(fixed, [["out", out], ["dev", out]])))).toContain(
      "exactly one output"
    )
    expect(reason(validateDerivationShape(withOutputs(fixed, [["bin", out]])))).toContain("named 'out'")
    expect(reason(derivationType(withOutputs(fixed, [["out", out], ["dev", multi.outputs.get("dev")!]])))).toContain(
      "mix"
    )
    expect(reason(derivationType(withOutputs(fixed, [])))).toContain("at least one output")
  })

  it("checks fixed outputs' algorithm, hash and path", () => {
    const out = fixed.outputs.get("out")!
    expect(reason(validateDerivationShape(withOutputs(fixed, [["out", { ...out, hashAlgo: "sha3" }]])))).toContain(
      "unknown hash algorithm"
    )
    expect(reason(validateDerivationShape(withOutputs(fixed, [["out", { ...out, hash: "abc" }]])))).toContain(
      "invalid sha256 hash"
    )
    expect(
      reason(validateDerivationShape(withOutputs(fixed, [["out", { ...out, path: multi.outputs.get("out")!.path }]])))
    ).toContain("should be")
    const env = new Map(fixed.env)
    env.set("out", "/nix/store/wrong")
    expect(reason(validateDerivationShape({ ...fixed, env }))).toContain("environment variable 'out'")
  })

  it("checks output names", () => {
    const dev = multi.outputs.get("dev")!
    for (const bad of ["drv", "", "a b", "x/y"]) {
      expect(reason(validateDerivationShape(withOutputs(multi, [["out", multi.outputs.get("out")!], [bad, dev]]))))
        .toContain("output")
    }
    expect(reason(validateDerivationShape({ ...multi, name: "bad name" }))).toContain("invalid derivation name")
  })

  it("checks that input derivations end in .drv and inputs are store paths", () => {
    const inputDrvs = new Map([["/nix/store/2wwpgwhlrid6ypd4f01r72hdpr4l7qgz-simple", ["out"]]])
    expect(reason(validateDerivationShape({ ...multi, inputDrvs }))).toContain("does not end in '.drv'")
    const elsewhere = new Map([["/elsewhere/2wwpgwhlrid6ypd4f01r72hdpr4l7qgz-simple.drv", ["out"]]])
    expect(reason(validateDerivationShape({ ...multi, inputDrvs: elsewhere }))).toContain("not a valid store path")
    expect(reason(validateDerivationShape({ ...multi, inputSrcs: ["relative/path"] }))).toContain("input source")
  })
})

describe("checkOutputPaths", () => {
  it("compares declared paths and env vars with the computed ones", () => {
    const computed = new Map([...multi.outputs].map(([n, o]) => [n, o.path] as const))
    expect(checkOutputPaths(multi, computed)).toEqual(Either.right(undefined))
    const wrong = new Map(computed)
    wrong.set("dev", "/nix/store/00000000000000000000000000000000-multi-dev")
    expect(reason(checkOutputPaths(multi, wrong))).toContain("output 'dev' has path")
    const env = new Map(multi.env)
    env.delete("lib")
    expect(reason(checkOutputPaths({ ...multi, env }, computed))).toContain("environment variable 'lib'")
  })
})
