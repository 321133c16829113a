/**
 * Output checks on registrations about to be made (Nix's checkOutputs), without a build: the
 * specifiers (store paths, output names), references vs requisites (closures through valid paths and
 * the new outputs), self-references, structured `outputChecks` and their type errors. What Nix prints
 * for real builds is compared in features-golden.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { checkOutputs } from "../../src/builder/outputChecks.js"
import type { Derivation } from "../../src/core/derivation/schema.js"
import type { PathRegistration } from "../../src/services/StoreDb.js"

const sd = "/nix/store"
const p = (c: string, name: string) => `${sd}/${c.repeat(32)}-${name}`
const base = p("b", "base")
const mid = p("m", "mid")
const out = p("q", "out")
const dev = p("d", "out-dev")
const valid = new Map([[base, { narSize: 100, references: [base] }], [mid, { narSize: 50, references: [base] }]])

const drvWith = (env: Record<string, string>): Derivation => ({
  name: "x",
  outputs: new Map([["out", { path: out, hashAlgo: "", hash: "" }], ["dev", { path: dev, hashAlgo: "", hash: "" }]]),
  inputDrvs: new Map(),
  inputSrcs: [],
  system: "x86_64-linux",
  builder: "/bin/sh",
  args: [],
  env: new Map(Object.entries(env))
})

const reg = (path: string, references: Array<string>, narSize = 10): PathRegistration => ({
  path,
  narHash: "sha256:" + "0".repeat(64),
  narSize,
  references
})

const check = (env: Record<string, string>, outs: Record<string, PathRegistration>) =>
  Effect.either(checkOutputs({
    storeDir: sd,
    drvPath: `${sd}/${"x".repeat(32)}-x.drv`,
    drv: drvWith(env),
    outputs: new Map(Object.entries(outs)),
    queryInfo: (q) => Effect.succeed(valid.get(q) ?? { narSize: 0, references: [] })
  })).pipe(Effect.map(Either.match({ onLeft: (e) => e.message, onRight: () => "ok" })))

describe("output checks", () => {
  it.effect("references: store paths and output names; the message lists the bad paths sorted", () =>
    Effect.gen(function*() {
      const o = { out: reg(out, [dev, mid, out]), dev: reg(dev, []) }
      expect(yield* check({ allowedReferences: `${mid} out dev` }, o)).toBe("ok")
      expect(yield* check({ allowedReferences: `dev` }, o)).toBe(
        `output '${out}' is not allowed to refer to the following paths:\n  ${mid}\n  ${out}`
      )
      expect(yield* check({ disallowedReferences: `\t${mid}\n` }, o)).toBe(
        `output '${out}' is not allowed to refer to the following paths:\n  ${mid}`
      )
      expect(yield* check({ allowedReferences: "nope" }, o)).toBe(
        "derivation contains an illegal reference specifier 'nope'"
      )
    }))

  it.effect("requisites: the closure through valid paths and the other new outputs, without the output itself", () =>
    Effect.gen(function*() {
      const o = { out: reg(out, [dev, out]), dev: reg(dev, [mid]) }
      expect(yield* check({ allowedRequisites: `dev ${mid} ${base}` }, o)).toBe("ok")
      expect(yield* check({ disallowedRequisites: base }, o)).toBe(
        `output '${out}' is not allowed to refer to the following paths:\n  ${base}`
      )
      expect(yield* check({ allowedRequisites: `dev ${mid}` }, o)).toMatch(
        /following paths:\n {2}\/nix\/store\/b+-base$/
      )
    }))

  it.effect("structured outputChecks: per output, self-references count, sizes, lists of strings only", () =>
    Effect.gen(function*() {
      const o = { out: reg(out, [out, mid], 20), dev: reg(dev, []) }
      const json = (checks: unknown) => ({ __json: JSON.stringify({ outputChecks: checks }) })
      expect(yield* check(json({ dev: { allowedReferences: [] } }), o)).toBe("ok")
      expect(yield* check(json({ out: { allowedRequisites: [mid, base] } }), o)).toBe(
        `output '${out}' is not allowed to refer to the following paths:\n  ${out}`
      )
      expect(yield* check(json({ out: { maxSize: 19 } }), o)).toBe(
        `path '${out}' is too large at 20 bytes; limit is 19 bytes`
      )
      expect(yield* check(json({ out: { maxClosureSize: 169 } }), o)).toBe(
        `closure of path '${out}' is too large at 170 bytes; limit is 169 bytes`
      )
      expect(yield* check(json({ out: { maxClosureSize: 170 } }), o)).toBe("ok")
      expect(yield* check(json({ out: { disallowedReferences: [1] } }), o)).toBe(
        `attribute 'disallowedReferences' of derivation '${sd}/${"x".repeat(32)}-x.drv' must be a list of strings`
      )
      // Env attributes do not count with structured attrs.
      expect(yield* check({ ...json({}), allowedReferences: "" }, o)).toBe("ok")
    }))
})
