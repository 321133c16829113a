/**
 * `nix-store -r/--realise PATHS [--add-root PATH [--indirect]] [--no-output]`
 * (a path may be `DRV!OUT1,OUT2`, some outputs of a derivation),
 * for what needs no builder: a valid path is printed (or its root, with
 * `--add-root`); a `.drv` whose outputs are all valid prints its outputs (or
 * their roots). Invalid paths fail as Nix fails when nothing can build or
 * substitute them ("don't know how to build these paths:" … "build of … failed").
 * A derivation with an invalid output is built by the Builder (`src/builder/`),
 * with the common build options (`-j`, `--cores`, `--timeout`, `--max-silent-time`,
 * `-K`, `-k`) and `--check` (rebuild and compare) or `--dry-run` (only say what
 * would be built); a failed build exits with Nix's status (100, 101, 102, 104, 1).
 *
 * Roots are named as nix-store names them: the first `ROOT`, then `ROOT-2`,
 * `ROOT-3`… per argument, with `-OUTPUT` appended for outputs other than `out`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { compareStrings } from "../../core/topoSort.js"
import { GcStore } from "../../services/GcStore.js"
import { Store } from "../../services/Store.js"
import { isDerivationPath } from "../../core/storePath.js"
import { globalFlags, UsageError } from "../argv.js"
import { Cli, ExitWith } from "../context.js"
import { Derivations, derivationFromPath, withDerivations } from "../derivationArg.js"
import { printLines } from "../io.js"
import type { Operation } from "../operation.js"
import { Builder } from "../../services/Builder.js"
import * as BuilderLive from "../../builder/layer.js"
import { substitutesAllowed } from "../../builder/goals.js"
import { cliBuildOptions } from "../buildOptions.js"
import { withLocalStoreOnly } from "../storeLayers.js"
import { followLinksToStorePath } from "../storePathArg.js"
import { querySubstitutable, substituteForRealise } from "./substituteArg.js"
import type { StoreShape } from "../../services/Store.js"

/** What finding the missing paths can fail with. */
type MissingError =
  | Effect.Effect.Error<ReturnType<StoreShape["isValidPath"]>>
  | Effect.Effect.Error<ReturnType<StoreShape["queryValidPaths"]>>
  | Effect.Effect.Error<ReturnType<typeof querySubstitutable>>
  | Effect.Effect.Error<ReturnType<typeof derivationFromPath>>
import { RealiseError } from "./realiseError.js"
import { realiseThroughDaemon } from "./realiseRemote.js"

export { RealiseError }

/** Flags of `-r` besides the global ones. */
const realiseFlags: ReadonlySet<string> = new Set(["check", "dry-run"])

const gcWarning = "you did not specify '--add-root'; the result might be removed by the garbage collector"

const quoted = (paths: ReadonlyArray<string>) => paths.map((p) => `'${p}'`).join(", ")

/** The `-r` operation. */
/** The roots of `--realise` go through the store's GcStore (its settings do not matter for roots). */
const withRoots = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect

export const realiseOperation: Operation = Effect.gen(function*() {
  const { layout, parsed, settings } = yield* Cli
  for (const f of parsed.flags) {
    if (!globalFlags.has(f) && !realiseFlags.has(f)) return yield* new UsageError({ message: `unknown flag '--${f}'` })
  }
  // Nix makes --add-root absolute when it reads it, relative to the working directory.
  const gcRoot = parsed.values.get("add-root")
  const noOutput = parsed.flags.has("no-output")
  const check = parsed.flags.has("check")
  // `DRV!OUT1,OUT2` names some outputs of a derivation (Nix's followLinksToStorePathWithOutputs).
  const wanted = new Map<string, ReadonlySet<string>>()
  const paths: Array<string> = []
  for (const arg of parsed.args) {
    const bang = arg.indexOf("!")
    const p = yield* followLinksToStorePath(layout, bang < 0 ? arg : arg.slice(0, bang))
    if (bang >= 0) wanted.set(p, new Set(arg.slice(bang + 1).split(",").filter((o) => o !== "")))
    paths.push(p)
  }
  // Through a daemon, the daemon builds (src/cli/ops/realiseRemote.ts).
  const cli = yield* Cli
  if (cli.store?._tag === "daemon") {
    return yield* realiseThroughDaemon(cli.store, {
      paths,
      wanted,
      check,
      dryRun: parsed.flags.has("dry-run"),
      noOutput,
      gcRoot
    })
  }
  yield* withLocalStoreOnly("--realise")(withRoots(withDerivations(Effect.gen(function*() {
    const store = yield* Store
    const gc = yield* GcStore
    const derivations = yield* Derivations
    // What Nix's queryMissing finds: paths nothing can produce, derivations to build, paths to fetch.
    const unknown = new Set<string>()
    const willBuild = new Set<string>()
    const willSubstitute = new Set<string>()
    const sizes = { download: 0, nar: 0 }
    const topInvalid = new Set<string>()
    const outputsOf = new Map<string, ReadonlyArray<readonly [string, string]>>()
    const substitutable = (ps: ReadonlyArray<string>) => querySubstitutable(layout.storeDir, settings, ps)
    const seenOpaque = new Set<string>()
    const doOpaque = (p: string): Effect.Effect<void, MissingError, never> =>
      Effect.gen(function*() {
        if (seenOpaque.has(p)) return
        seenOpaque.add(p)
        if (yield* store.isValidPath(p)) return
        const info = (yield* substitutable([p])).get(p)
        if (info === undefined) {
          unknown.add(p)
          return
        }
        willSubstitute.add(p)
        sizes.download += info.downloadSize
        sizes.nar += info.narSize
        for (const r of info.references) yield* doOpaque(r)
      })
    const seenDrv = new Set<string>()
    const doDrv = (
      drvPath: string,
      outNames: ReadonlyArray<string> | undefined
    ): Effect.Effect<void, MissingError, never> =>
      Effect.gen(function*() {
        const key = `${drvPath}!${(outNames ?? []).join(",")}`
        if (seenDrv.has(key)) return
        seenDrv.add(key)
        const d = yield* derivationFromPath(store, derivations, drvPath)
        const names = outNames === undefined || outNames.length === 0 ? [...d.outputs.keys()] : outNames
        const outPaths = names.map((o) => d.outputs.get(o)?.path ?? "").filter((o) => o !== "")
        const valid = new Set(yield* store.queryValidPaths(outPaths))
        const invalid = outPaths.filter((o) => !valid.has(o))
        if (invalid.length === 0) return
        if (substitutesAllowed(d)) {
          const infos = yield* substitutable(invalid)
          if (invalid.every((o) => infos.has(o))) {
            for (const o of invalid) {
              const info = infos.get(o)!
              seenOpaque.add(o)
              willSubstitute.add(o)
              sizes.download += info.downloadSize
              sizes.nar += info.narSize
              for (const r of info.references) yield* doOpaque(r)
            }
            return
          }
        }
        willBuild.add(drvPath)
        for (const [inDrv, inOuts] of d.inputDrvs) yield* doDrv(inDrv, inOuts)
      })
    for (const p of paths) {
      if (!isDerivationPath(p)) {
        yield* doOpaque(p)
        continue
      }
      if (!(yield* store.isValidPath(p))) {
        unknown.add(p)
        continue
      }
      const drv = yield* derivationFromPath(store, derivations, p)
      const want = wanted.get(p)
      const missing = [...(want ?? [])].filter((o) => !drv.outputs.has(o)).sort(compareStrings)
      if (missing.length > 0) {
        return yield* new RealiseError({ message: `derivation '${p}' does not have wanted outputs ${quoted(missing)}` })
      }
      const outs = [...drv.outputs]
        .filter(([name]) => want === undefined || want.size === 0 || want.has(name))
        .map(([name, o]) => [name, o.path] as const)
        .sort((a, b) => compareStrings(a[0], b[0]))
      outputsOf.set(p, outs)
      const valid = new Set(yield* store.queryValidPaths(outs.map(([, o]) => o).filter((o) => o !== "")))
      if (outs.some(([, o]) => !valid.has(o))) {
        topInvalid.add(p)
        yield* doDrv(p, [...(want ?? [])])
      }
    }
    if (willBuild.size > 0) {
      const drvs = [...(yield* store.topoSortPaths([...willBuild]))].reverse()
      yield* Effect.logInfo(
        drvs.length === 1 ? "this derivation will be built:" : `these ${drvs.length} derivations will be built:`
      )
      for (const d of drvs) yield* Effect.logInfo(`  ${d}`)
    }
    if (willSubstitute.size > 0) {
      const mib = (n: number) => Math.fround(n / (1024 * 1024)).toFixed(2)
      const amounts = `(${mib(sizes.download)} MiB download, ${mib(sizes.nar)} MiB unpacked)`
      yield* Effect.logInfo(
        willSubstitute.size === 1
          ? `this path will be fetched ${amounts}:`
          : `these ${willSubstitute.size} paths will be fetched ${amounts}:`
      )
      for (const p of [...willSubstitute].sort(compareStrings)) yield* Effect.logInfo(`  ${p}`)
    }
    if (unknown.size > 0) {
      yield* Effect.logInfo("don't know how to build these paths:")
      for (const u of [...unknown].sort(compareStrings)) yield* Effect.logInfo(`  ${u}`)
    }
    if (unknown.size > 0) {
      const failed = [...unknown].sort(compareStrings)
      // One failed goal reports its own error; several, "build of … failed" (Nix's buildPaths).
      const only = failed.length === 1 ? failed[0] : undefined
      return yield* new RealiseError({
        message: only !== undefined && isDerivationPath(only)
          ? `cannot build missing derivation '${only}'`
          : `build of ${quoted(failed)} failed`
      })
    }

    if (parsed.flags.has("dry-run")) return
    // Substitution (issue 15): invalid plain paths are fetched from the substituters first.
    yield* substituteForRealise(store, settings, paths.filter((p) => !isDerivationPath(p)))
    if (check) {
      for (const p of paths) {
        const outs = outputsOf.get(p)
        if (outs === undefined) continue
        const valid = new Set(yield* store.queryValidPaths(outs.map(([, o]) => o)))
        if (outs.some(([, o]) => !valid.has(o))) {
          return yield* new RealiseError({
            message: `some outputs of '${p}' are not valid, so checking is not possible`
          })
        }
      }
    }
    const toBuild = check ? [...outputsOf.keys()] : [...topInvalid]
    if (toBuild.length > 0) {
      const options = {
        ...(yield* cliBuildOptions),
        // A derivation's outputs are substituted before it is built (issue 15), as Nix's goals do.
        substitute: (ps: ReadonlyArray<string>) =>
          substituteForRealise(store, settings, ps).pipe(
            Effect.catchAll((e) => Effect.logWarning(`substitution failed: ${String(e)}`))
          )
      }
      yield* Effect.flatMap(Builder, (b) =>
        b.buildDerivations(
          toBuild.map((drvPath) => ({ drvPath, outputs: [...(wanted.get(drvPath) ?? [])] })),
          options
        )).pipe(
          Effect.provide(BuilderLive.layer),
          Effect.catchTag("BuildFailedError", (e) =>
            Effect.zipRight(
              Effect.sync(() => {
                // Nix indents the continuation lines of an error under its first.
                for (const m of e.messages) process.stderr.write(`error: ${m.split("\n").join("\n       ")}\n`)
              }),
              Effect.fail(new ExitWith({ status: e.exitStatus }))
            ))
        )
    }

    let rootNr = 0
    let warned = false
    const root = (storePath: string, rootName: string) => gc.addPermRoot(storePath, rootName)
    for (const p of paths) {
      const printed: Array<string> = []
      const outs = outputsOf.get(p)
      if (outs !== undefined) {
        rootNr++
        for (const [name, out] of outs) {
          if (gcRoot === undefined) {
            warned = true
            printed.push(out)
          } else {
            let rootName = gcRoot
            if (rootNr > 1) rootName += `-${rootNr}`
            if (name !== "out") rootName += `-${name}`
            printed.push(yield* root(out, rootName))
          }
        }
      } else if (gcRoot === undefined) {
        warned = true
        printed.push(p)
      } else {
        rootNr++
        printed.push(yield* root(p, rootNr > 1 ? `${gcRoot}-${rootNr}` : gcRoot))
      }
      // Nix prints each argument's results as a set: sorted, without repeats.
      if (!noOutput) yield* printLines([...new Set(printed)].sort(compareStrings))
    }
    if (warned) yield* Effect.logWarning(gcWarning)
  }))))
})
