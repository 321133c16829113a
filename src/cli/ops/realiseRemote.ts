/**
 * `-r/--realise` through a daemon store (`daemon`, `unix://…`, `ssh-ng://…`),
 * as Nix 2.8's nix-store does it through its RemoteStore: QueryMissing for
 * what will be built or fetched (printed as Nix's printMissing), then the
 * daemon builds and substitutes (BuildPathsWithResults, or BuildPaths before
 * protocol 1.34) while its build log lines reach this process's stderr, then
 * the outputs are printed (or rooted with `--add-root`) from the daemon's
 * derivation output maps. Nothing is read from the daemon's store directly.
 *
 * Unlike Nix's client (which loses the status and exits 1), a failed build
 * exits with the local statuses (100 build failure, 101 timeout, 102 hash
 * mismatch, 104 check mismatch), computed from the per-target results.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { exitStatusOf } from "../../builder/goals.js"
import { printfFixed2 } from "../../core/printf.js"
import { isDerivationPath } from "../../core/storePath.js"
import { compareStrings } from "../../core/topoSort.js"
import type { BuildStatus } from "../../services/Builder.js"
import { BuildStore, type TargetResult } from "../../services/BuildStore.js"
import { GcStore } from "../../services/GcStore.js"
import { Store } from "../../services/Store.js"
import type { DaemonStoreSpec } from "../../stores/fromUri.js"
import { ExitWith } from "../context.js"
import { printLines } from "../io.js"
import { withDaemonStore } from "../storeLayers.js"
import { RealiseError } from "./realiseError.js"

/** What `-r` was asked. */
export interface RemoteRealiseRequest {
  readonly paths: ReadonlyArray<string>
  readonly wanted: ReadonlyMap<string, ReadonlySet<string>>
  readonly check: boolean
  readonly dryRun: boolean
  readonly noOutput: boolean
  readonly gcRoot: string | undefined
}

const gcWarning = "you did not specify '--add-root'; the result might be removed by the garbage collector"

const quoted = (paths: ReadonlyArray<string>) => paths.map((p) => `'${p}'`).join(", ")

const succeeded = (s: BuildStatus) => s === "Built" || s === "Substituted" || s === "AlreadyValid"

/** The exit bits of a failed result (as the builder's: 0x04 failure, 0x01 timeout, 0x02 hash, 0x08 check). */
const exitBits = (r: TargetResult) => {
  switch (r.status) {
    case "TimedOut":
      return 0x01
    case "NotDeterministic":
      return 0x08
    case "OutputRejected":
      return r.errorMsg.includes("hash mismatch") ? 0x02 : 0
    case "PermanentFailure":
    case "CachedFailure":
    case "DependencyFailed":
      return 0x04
    default:
      return 0
  }
}

const printError = (m: string) => Effect.sync(() => process.stderr.write(`error: ${m.split("\n").join("\n       ")}\n`))

/** Realises `req.paths` through the daemon store `spec`. */
export const realiseThroughDaemon = (spec: DaemonStoreSpec, req: RemoteRealiseRequest) =>
  withDaemonStore(spec)(Effect.gen(function*() {
    const store = yield* Store
    const gc = yield* GcStore
    const builds = yield* BuildStore
    const targets = req.paths.map((p) => {
      if (!isDerivationPath(p)) return p
      const want = [...(req.wanted.get(p) ?? [])].sort(compareStrings)
      return `${p}!${want.length === 0 ? "*" : want.join(",")}`
    })
    const missing = yield* builds.queryMissing(targets)
    if (missing.willBuild.length > 0) {
      const sorted = [...(yield* store.topoSortPaths(missing.willBuild))].reverse()
      yield* Effect.logInfo(
        sorted.length === 1 ? "this derivation will be built:" : `these ${sorted.length} derivations will be built:`
      )
      for (const d of sorted) yield* Effect.logInfo(`  ${d}`)
    }
    if (missing.willSubstitute.length > 0) {
      const sizes = `${printfFixed2(missing.downloadSize / (1024 * 1024))} MiB download, ${
        printfFixed2(missing.narSize / (1024 * 1024))
      } MiB unpacked`
      yield* Effect.logInfo(
        missing.willSubstitute.length === 1
          ? `this path will be fetched (${sizes}):`
          : `these ${missing.willSubstitute.length} paths will be fetched (${sizes}):`
      )
      for (const p of [...missing.willSubstitute].sort(compareStrings)) yield* Effect.logInfo(`  ${p}`)
    }
    if (missing.unknown.length > 0) {
      const unknown = [...missing.unknown].sort(compareStrings)
      yield* Effect.logInfo("don't know how to build these paths:")
      for (const u of unknown) yield* Effect.logInfo(`  ${u}`)
      const only = unknown.length === 1 ? unknown[0] : undefined
      return yield* new RealiseError({
        message: only !== undefined && isDerivationPath(only)
          ? `cannot build missing derivation '${only}'`
          : `build of ${quoted(unknown)} failed`
      })
    }
    if (req.dryRun) return

    const results = yield* builds.buildPaths(targets, req.check ? "check" : "normal").pipe(
      Effect.catchTag("RemoteStoreError", (e) =>
        Effect.zipRight(
          printError(e.message),
          Effect.fail(new ExitWith({ status: e.status !== undefined && e.status >= 100 ? e.status : 1 }))
        ))
    )
    const failed = results.filter((r) => !succeeded(r.status))
    if (failed.length > 0) {
      if (failed.length === 1) yield* printError(failed[0]!.errorMsg)
      else {
        for (const r of failed) yield* printError(r.errorMsg)
        yield* printError(`build of ${quoted(failed.map((r) => r.path.replace(/!.*$/, "")))} failed`)
      }
      return yield* new ExitWith({ status: exitStatusOf(failed.map((r) => ({ exitBits: exitBits(r) }))) })
    }

    let rootNr = 0
    let warned = false
    for (const p of req.paths) {
      const printed: Array<string> = []
      if (isDerivationPath(p)) {
        rootNr++
        const map = yield* store.queryDerivationOutputMap(p)
        const want = req.wanted.get(p)
        const outs = Object.entries(map)
          .filter(([name]) => want === undefined || want.size === 0 || want.has(name))
          .sort((a, b) => compareStrings(a[0], b[0]))
        for (const [name, out] of outs) {
          if (req.gcRoot === undefined) {
            warned = true
            printed.push(out)
          } else {
            let rootName = req.gcRoot
            if (rootNr > 1) rootName += `-${rootNr}`
            if (name !== "out") rootName += `-${name}`
            printed.push(yield* gc.addPermRoot(out, rootName))
          }
        }
      } else if (req.gcRoot === undefined) {
        warned = true
        printed.push(p)
      } else {
        rootNr++
        printed.push(yield* gc.addPermRoot(p, rootNr > 1 ? `${req.gcRoot}-${rootNr}` : req.gcRoot))
      }
      if (!req.noOutput) yield* printLines([...new Set(printed)].sort(compareStrings))
    }
    if (warned) yield* Effect.logWarning(gcWarning)
  }))
