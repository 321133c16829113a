/**
 * Output checks, as Nix 2.8's `LocalDerivationGoal::checkOutputs`: after the
 * outputs are scanned and before they are registered, each output is checked
 * against `allowedReferences`, `allowedRequisites`, `disallowedReferences`
 * and `disallowedRequisites` (whitespace-separated env attributes; with
 * `__structuredAttrs`, the lists of `outputChecks.<output>`, which may also
 * set `maxSize` and `maxClosureSize`). A specifier is a store path or the
 * name of one of the derivation's outputs (`out`). Requisites are the
 * closure; without structured attrs the output itself is left out of it
 * (Nix's `ignoreSelfRefs`). A failed check is an {@link OutputCheckError}
 * (exit bits 0: nix-store exits 1), with Nix's message.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Derivation } from "../core/derivation/schema.js"
import { byteStringToUtf8 } from "../core/derivation/schema.js"
import type { PathRegistration } from "../services/StoreDb.js"
import { OutputCheckError } from "./outputs.js"

/** What the closure walk needs of a path that is not one of the new outputs. */
export interface KnownPathInfo {
  readonly narSize: number
  readonly references: ReadonlyArray<string>
}

interface Checks {
  readonly ignoreSelfRefs: boolean
  readonly maxSize?: number | undefined
  readonly maxClosureSize?: number | undefined
  readonly allowedReferences?: ReadonlyArray<string> | undefined
  readonly allowedRequisites?: ReadonlyArray<string> | undefined
  readonly disallowedReferences?: ReadonlyArray<string> | undefined
  readonly disallowedRequisites?: ReadonlyArray<string> | undefined
}

const fail = (message: string) => new OutputCheckError({ message, exitBits: 0 })

const checkNames = ["allowedReferences", "allowedRequisites", "disallowedReferences", "disallowedRequisites"] as const

/** Nix's tokenizeString over " \t\n\r". */
const tokens = (s: string) => s.split(/[ \t\n\r]+/).filter((w) => w !== "")

/** The checks of one output (undefined: none), from the env or from `outputChecks` (structured attrs). */
const checksOf = (
  drv: Derivation,
  drvPath: string,
  outputName: string,
  structured: Record<string, unknown> | undefined
): Checks | OutputCheckError | undefined => {
  if (structured === undefined) {
    const get = (n: string) => {
      const v = drv.env.get(n)
      return v === undefined ? undefined : tokens(byteStringToUtf8(v))
    }
    return {
      ignoreSelfRefs: true,
      allowedReferences: get("allowedReferences"),
      allowedRequisites: get("allowedRequisites"),
      disallowedReferences: get("disallowedReferences"),
      disallowedRequisites: get("disallowedRequisites")
    }
  }
  const all = structured["outputChecks"]
  if (typeof all !== "object" || all === null) return undefined
  const o: unknown = (all as Record<string, unknown>)[outputName]
  if (typeof o !== "object" || o === null) return undefined
  const out = o as Record<string, unknown>
  const lists: Partial<Record<(typeof checkNames)[number], ReadonlyArray<string>>> = {}
  for (const n of checkNames) {
    const v = out[n]
    if (v === undefined) continue
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      return fail(`attribute '${n}' of derivation '${drvPath}' must be a list of strings`)
    }
    lists[n] = v as Array<string>
  }
  const num = (v: unknown) => (typeof v === "number" ? v : undefined)
  return { ignoreSelfRefs: false, maxSize: num(out["maxSize"]), maxClosureSize: num(out["maxClosureSize"]), ...lists }
}

/**
 * Checks the outputs about to be registered (output name → registration) as
 * Nix does (see the module comment). `queryInfo` gives the size and
 * references of other paths (valid ones) for the closure walks.
 */
export const checkOutputs = <E>(args: {
  readonly storeDir: string
  readonly drvPath: string
  readonly drv: Derivation
  readonly outputs: ReadonlyMap<string, PathRegistration>
  readonly queryInfo: (path: string) => Effect.Effect<KnownPathInfo, E>
}): Effect.Effect<void, OutputCheckError | E> =>
  Effect.gen(function*() {
    const { drv, drvPath, outputs, storeDir } = args
    let structured: Record<string, unknown> | undefined
    const json = drv.env.get("__json")
    if (json !== undefined) {
      try {
        structured = JSON.parse(byteStringToUtf8(json)) as Record<string, unknown>
      } catch {
        structured = {}
      }
    }
    const byPath = new Map<string, PathRegistration>()
    for (const r of outputs.values()) byPath.set(r.path, r)
    const isStorePath = (s: string) =>
      s.startsWith(storeDir + "/") && !s.slice(storeDir.length + 1).includes("/") &&
      /^[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+$/.test(s.slice(storeDir.length + 1))

    /** The closure of a path and its size (new outputs are not valid yet: their registrations count). */
    const closureOf = (p: string) =>
      Effect.gen(function*() {
        const done = new Set<string>()
        const left = [p]
        let size = 0
        while (left.length > 0) {
          const q = left.shift()!
          if (done.has(q)) continue
          done.add(q)
          const own = byPath.get(q)
          const info = own ?? (yield* args.queryInfo(q))
          size += info.narSize
          left.push(...info.references)
        }
        return { paths: done, size }
      })

    for (const [outputName, info] of outputs) {
      const checks = checksOf(drv, drvPath, outputName, structured)
      if (checks === undefined) continue
      if (checks instanceof OutputCheckError) return yield* checks
      if (checks.maxSize !== undefined && info.narSize > checks.maxSize) {
        return yield* fail(
          `path '${info.path}' is too large at ${info.narSize} bytes; limit is ${checks.maxSize} bytes`
        )
      }
      if (checks.maxClosureSize !== undefined) {
        const { size } = yield* closureOf(info.path)
        if (size > checks.maxClosureSize) {
          return yield* fail(
            `closure of path '${info.path}' is too large at ${size} bytes; limit is ${checks.maxClosureSize} bytes`
          )
        }
      }
      const checkRefs = (value: ReadonlyArray<string> | undefined, allowed: boolean, recursive: boolean) =>
        Effect.gen(function*() {
          if (value === undefined) return
          const spec = new Set<string>()
          for (const i of value) {
            if (isStorePath(i)) spec.add(i)
            else if (outputs.has(i)) spec.add(outputs.get(i)!.path)
            else return yield* fail(`derivation contains an illegal reference specifier '${i}'`)
          }
          const used = new Set(recursive ? (yield* closureOf(info.path)).paths : info.references)
          if (recursive && checks.ignoreSelfRefs) used.delete(info.path)
          const bad = [...used].filter((u) => spec.has(u) !== allowed).sort()
          if (bad.length > 0) {
            return yield* fail(
              `output '${info.path}' is not allowed to refer to the following paths:${
                bad.map((b) => `\n  ${b}`).join("")
              }`
            )
          }
        })
      yield* checkRefs(checks.allowedReferences, true, false)
      yield* checkRefs(checks.allowedRequisites, true, true)
      yield* checkRefs(checks.disallowedReferences, false, false)
      yield* checkRefs(checks.disallowedRequisites, false, true)
    }
  })
