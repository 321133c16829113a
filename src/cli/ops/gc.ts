/**
 * nix-store's garbage-collector operations:
 *
 * - `--gc` deletes dead paths and prints `N store paths deleted, X.YZ MiB freed`;
 *   with `--print-roots` it prints `LINK -> TARGET` for every root (sorted by
 *   link), with `--print-live` / `--print-dead` the live / dead paths (sorted),
 *   with `--max-freed N` (K/M/G/T suffixes) it stops after N bytes;
 * - `tsnix gc --why-alive PATH` prints a chain from a root to PATH;
 * - `--delete [--ignore-liveness] PATHS` deletes exactly PATHS (refusing live ones);
 * - `-q --roots PATHS` prints the roots that keep PATHS alive.
 *
 * Progress messages (`finding garbage collector roots...`, `deleting '…'`) go
 * to standard error through the logger; results go to standard output.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { showBytes } from "../../core/printf.js"
import { GarbageCollector } from "../../services/GcStore.js"
import type { GcResult } from "../../services/GcStore.js"
import { UsageError } from "../argv.js"
import { Cli } from "../context.js"
import { printLines } from "../io.js"
import type { Operation } from "../operation.js"
import { withStore } from "../storeLayers.js"
import { followLinksToStorePath, followLinksToStorePaths } from "../storePathArg.js"

/** Parses nix-store's `--max-freed` value: an integer with an optional K/M/G/T suffix; negative means 0. */
export const parseMaxFreed = (s: string): Effect.Effect<number, UsageError> => {
  const m = /^(-?\d+)([KMGT]?)$/.exec(s.trim())
  if (m === null) return Effect.fail(new UsageError({ message: "flag '--max-freed' requires an integer argument" }))
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2] as "" | "K" | "M" | "G" | "T"]
  return Effect.succeed(Math.max(0, Number(m[1]) * unit))
}

/** nix-store's summary line. */
export const summaryLine = (r: GcResult): string =>
  `${r.paths.length} store paths deleted, ${showBytes(r.bytesFreed)} freed`

/** Runs `effect` with the current invocation's store and a collector configured from its settings. */
const withCollector = <A, E>(effect: Effect.Effect<A, E, GarbageCollector>) => withStore(effect)

const allowOnly = (allowed: ReadonlyArray<string>, what: string) =>
  Effect.flatMap(Cli, ({ parsed }) => {
    for (const f of parsed.flags) {
      if (!allowed.includes(f)) return Effect.fail(new UsageError({ message: `bad sub-operation '--${f}' in ${what}` }))
    }
    return Effect.void
  })

/** `--gc [--print-roots | --print-live | --print-dead | --max-freed N]` and `gc --why-alive PATH`. */
export const gcOperation: Operation = Effect.gen(function*() {
  const { parsed, layout } = yield* Cli
  yield* allowOnly(["print-roots", "print-live", "print-dead", "why-alive"], "GC")
  if (parsed.flags.has("why-alive")) {
    if (parsed.args.length !== 1) return yield* new UsageError({ message: "'--why-alive' requires exactly one path" })
    const target = yield* followLinksToStorePath(layout, parsed.args[0] as string)
    return yield* withCollector(Effect.gen(function*() {
      const gc = yield* GarbageCollector
      const why = yield* gc.whyAlive(target)
      if (Option.isNone(why)) return yield* printLines([`${target} is not alive`])
      const { links, chain } = why.value
      const lines = links.map((l) => `${l} -> ${why.value.root}`)
      if (lines.length === 0) lines.push(`${why.value.root} is a root`)
      for (const step of chain.slice(1)) {
        lines.push(`  -> ${step.path} (${
          step.via === "reference"
            ? "referenced"
            : step.via === "output"
            ? "output of the previous derivation (keep-outputs)"
            : "its deriver (keep-derivations)"
        })`)
      }
      yield* printLines(lines)
    }))
  }
  if (parsed.args.length > 0) return yield* new UsageError({ message: "no arguments expected" })
  const maxText = parsed.values.get("max-freed")
  const maxFreed = maxText === undefined ? undefined : yield* parseMaxFreed(maxText)
  yield* withCollector(Effect.gen(function*() {
    const gc = yield* GarbageCollector
    if (parsed.flags.has("print-roots")) {
      const roots = yield* gc.findRoots()
      return yield* printLines(roots.map((r) => `${r.link} -> ${r.target}`))
    }
    if (parsed.flags.has("print-live") || parsed.flags.has("print-dead")) {
      const l = yield* gc.liveness
      return yield* printLines(parsed.flags.has("print-dead") ? l.dead : l.live)
    }
    // Interrupted, nix-store still prints the summary of what it deleted (then the error).
    const r = yield* gc.collectGarbage({
      maxFreed,
      onInterrupt: (partial) => Effect.ignore(printLines([summaryLine(partial)]))
    })
    yield* printLines([summaryLine(r)])
  }))
})

/** `--delete [--ignore-liveness] PATHS`. */
export const deleteOperation: Operation = Effect.gen(function*() {
  const { parsed, layout } = yield* Cli
  yield* allowOnly(["ignore-liveness"], "--delete")
  const paths = yield* followLinksToStorePaths(layout, parsed.args)
  yield* withCollector(Effect.gen(function*() {
    const gc = yield* GarbageCollector
    const r = yield* gc.deletePaths(paths, { ignoreLiveness: parsed.flags.has("ignore-liveness") }).pipe(
      // nix-store prints the summary even when refusing.
      Effect.tapError(() => printLines([summaryLine({ paths: [], bytesFreed: 0 })]).pipe(Effect.ignore))
    )
    yield* printLines([summaryLine(r)])
  }))
})

/** `-q --roots PATHS`: `LINK -> TARGET` for the roots keeping PATHS alive. */
export const queryRootsOperation: Operation = Effect.gen(function*() {
  const { parsed, layout } = yield* Cli
  const paths = yield* followLinksToStorePaths(layout, parsed.args)
  yield* withCollector(Effect.gen(function*() {
    const gc = yield* GarbageCollector
    const roots = yield* gc.queryRoots(paths)
    yield* printLines(roots.map((r) => `${r.link} -> ${r.target}`))
  }))
})
