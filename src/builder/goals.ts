/**
 * Goals over the derivation graph (Nix 2.8's Worker): a derivation's input
 * derivations are realised first, each derivation once however many goals
 * need it, and at most `maxJobs` builds run at once. Without `keepGoing` the
 * first failure interrupts every other goal (their builds are killed and
 * cleaned up by their scopes); with it, the others go on. A failed input
 * fails its dependents with `N dependencies of derivation '…' failed to build`.
 *
 * @since 0.1.0
 */
import { Data, Deferred, Effect, FiberId } from "effect"
import type { Derivation } from "../core/derivation/schema.js"
import { byteStringToUtf8 } from "../core/derivation/schema.js"
import type { BuildOptions, BuildRequest, BuildResult } from "../services/Builder.js"
import { BuilderStoreError, BuildFailedError } from "../services/Builder.js"
import type { DerivationsShape } from "../services/Derivations.js"
import { type BuildContext, buildDerivation, type BuildOutcome } from "./build.js"

/** Nix's `substitutesAllowed`: `allowSubstitutes` absent or "1" (with structured attrs, absent or true). */
export const substitutesAllowed = (drv: Derivation): boolean => {
  const json = drv.env.get("__json")
  if (json !== undefined) {
    try {
      const parsed: unknown = JSON.parse(byteStringToUtf8(json))
      const a = typeof parsed === "object" && parsed !== null
        ? (parsed as Record<string, unknown>)["allowSubstitutes"]
        : undefined
      return a === undefined || a === true
    } catch {
      return true
    }
  }
  const v = drv.env.get("allowSubstitutes")
  return v === undefined || v === "1"
}

/** A goal that failed, to stop the others (without keepGoing). */
class GoalFailed extends Data.TaggedError("GoalFailed")<{
  readonly outcome: BuildOutcome
  /** The requested derivation that failed (undefined for an input's failure). */
  readonly top?: { readonly drvPath: string; readonly outputs: Readonly<Record<string, string>> } | undefined
}> {}

const failedStatus = (o: { readonly status: BuildOutcome["status"] }) =>
  o.status !== "Built" && o.status !== "AlreadyValid" && o.status !== "Substituted"

/** Nix's Worker::exitStatus over the failed outcomes. */
export const exitStatusOf = (outcomes: ReadonlyArray<{ readonly exitBits: number }>): number => {
  let bits = 0
  for (const o of outcomes) bits |= o.exitBits
  let mask = 0
  if ((bits & 0x07) !== 0) mask |= 0x04
  mask |= bits & 0x0b
  return mask !== 0 ? mask | 0x60 : 1
}

/** Realises the requests (see the module comment). */
export const realise = (
  ctx: BuildContext,
  derivations: DerivationsShape,
  requests: ReadonlyArray<BuildRequest>,
  options: BuildOptions
): Effect.Effect<ReadonlyArray<BuildResult>, BuildFailedError | BuilderStoreError> =>
  Effect.gen(function*() {
    const semaphore = yield* Effect.makeSemaphore(Math.max(1, options.maxJobs))
    const goals = new Map<string, Deferred.Deferred<BuildOutcome, BuilderStoreError | GoalFailed>>()
    const failures: Array<BuildOutcome> = []
    const logged: Array<string> = []

    const readDrv = (p: string) =>
      derivations.read(p).pipe(
        Effect.mapError((cause) => new BuilderStoreError({ operation: `reading '${p}'`, cause }))
      )

    const runGoal = (
      drvPath: string,
      wanted: ReadonlyArray<string> | undefined,
      top: boolean
    ): Effect.Effect<BuildOutcome, BuilderStoreError | GoalFailed> =>
      Effect.gen(function*() {
        const drv: Derivation = yield* readDrv(drvPath)
        const want = wanted === undefined || wanted.length === 0 ? [...drv.outputs.keys()] : wanted
        const check = top && options.check
        const outPaths = want.map((o) => drv.outputs.get(o)?.path ?? "")
        const valid = yield* ctx.store.queryValidPaths(outPaths).pipe(
          Effect.mapError((cause) => new BuilderStoreError({ operation: "querying", cause }))
        )
        const start = Math.floor(Date.now() / 1000)
        if (!check && valid.length === outPaths.length) {
          return { status: "AlreadyValid", errorMsg: "", exitBits: 0, timesBuilt: 0, startTime: start, stopTime: start }
        }
        // Substitution first (Nix's outputsSubstitutionTried): what a substituter gives is not built.
        if (!check && options.substitute !== undefined && substitutesAllowed(drv)) {
          const validSet = new Set(valid)
          yield* options.substitute(outPaths.filter((p) => p !== "" && !validSet.has(p)))
          const nowValid = yield* ctx.store.queryValidPaths(outPaths).pipe(
            Effect.mapError((cause) => new BuilderStoreError({ operation: "querying", cause }))
          )
          if (nowValid.length === outPaths.length) {
            return {
              status: "Substituted",
              errorMsg: "",
              exitBits: 0,
              timesBuilt: 0,
              startTime: start,
              stopTime: start
            }
          }
        }
        const inputs = yield* Effect.all(
          [...drv.inputDrvs].map(([p]) =>
            goal(p, undefined, false).pipe(
              Effect.catchTag("GoalFailed", (e) => Effect.succeed(e.outcome))
            )
          ),
          { concurrency: "unbounded" }
        )
        const failedInputs = inputs.filter(failedStatus).length
        let outcome: BuildOutcome
        if (failedInputs > 0) {
          outcome = {
            status: "DependencyFailed",
            errorMsg: `${failedInputs} dependencies of derivation '${drvPath}' failed to build`,
            exitBits: 0,
            timesBuilt: 0,
            startTime: start,
            stopTime: Math.floor(Date.now() / 1000)
          }
        } else {
          outcome = yield* semaphore.withPermits(1)(
            buildDerivation({ ...ctx, options: { ...options, check } }, drvPath, drv, want)
          )
        }
        if (failedStatus(outcome)) {
          failures.push(outcome)
          // Errors of inputs are reported as they happen; those of requested derivations at the end.
          if (!top) {
            logged.push(outcome.errorMsg)
            options.onError?.(outcome.errorMsg)
          }
          if (!options.keepGoing) {
            return yield* new GoalFailed({ outcome, top: top ? { drvPath, outputs: {} } : undefined })
          }
        }
        return outcome
      })

    const goal = (drvPath: string, wanted: ReadonlyArray<string> | undefined, top: boolean) =>
      Effect.suspend(() => {
        const key = top ? `${drvPath}!${(wanted ?? []).join(",")}` : drvPath
        const existing = goals.get(key)
        if (existing !== undefined) return Deferred.await(existing)
        const d = Deferred.unsafeMake<BuildOutcome, BuilderStoreError | GoalFailed>(FiberId.none)
        goals.set(key, d)
        return runGoal(drvPath, wanted, top).pipe(
          Effect.exit,
          Effect.flatMap((exit) => Deferred.done(d, exit)),
          Effect.zipRight(Deferred.await(d))
        )
      })

    // Without keepGoing the first failure fails this `all`, which interrupts the other goals.
    const all = yield* Effect.either(Effect.all(
      requests.map((r) =>
        goal(r.drvPath, r.outputs, true).pipe(
          options.keepGoing ? Effect.catchTag("GoalFailed", (e) => Effect.succeed(e.outcome)) : (x) => x
        )
      ),
      { concurrency: "unbounded" }
    ))
    if (all._tag === "Left") {
      const e = all.left
      if (e._tag !== "GoalFailed") return yield* e
      const failed = e.outcome
      return yield* new BuildFailedError({
        messages: failed.errorMsg === "" || logged.includes(failed.errorMsg) ? [] : [failed.errorMsg],
        exitStatus: exitStatusOf(failures),
        // The failed request's result (the others were interrupted).
        results: e.top === undefined ? [] : [{ ...e.top, ...failed }]
      })
    }
    const outcomes = all.right
    const results: Array<BuildResult> = []
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!
      const o = outcomes[i]!
      const drv = yield* readDrv(r.drvPath)
      const want = r.outputs === undefined || r.outputs.length === 0 ? [...drv.outputs.keys()] : r.outputs
      const outs: Record<string, string> = {}
      if (!failedStatus(o)) { for (const name of want) outs[name] = drv.outputs.get(name)?.path ?? "" }
      results.push({ drvPath: r.drvPath, ...o, outputs: outs })
    }
    if (failures.length > 0) {
      const topFailed = results.filter((r) => failedStatus(r))
      const messages = topFailed.length === 1
        ? [topFailed[0]!.errorMsg]
        : [
          ...topFailed.slice(0, -1).map((r) => r.errorMsg),
          ...(topFailed.length > 0 ? [topFailed[topFailed.length - 1]!.errorMsg] : []),
          `build of ${(topFailed.length > 0 ? topFailed : results).map((r) => `'${r.drvPath}'`).join(", ")} failed`
        ]
      return yield* new BuildFailedError({
        messages: messages.filter((m) => m !== "" && !(topFailed.length !== 1 && logged.includes(m))),
        exitStatus: exitStatusOf(failures),
        results
      })
    }
    return results
  })
