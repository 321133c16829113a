/**
 * The store an operation runs against, built from the invocation's layout and
 * settings.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import * as os from "node:os"
import { type ClientOptions, defaultClientOptions } from "../core/wire/worker/options.js"
import type { GcStore } from "../services/GcStore.js"
import type { LocalStore } from "../services/LocalStore.js"
import type { Store } from "../services/Store.js"
import * as GcLive from "../stores/local/gc/layer.js"
import { Cli, type CliInvocation } from "./context.js"
import { UsageError } from "./argv.js"
import type { UpgradeProgress } from "../services/StoreDb.js"
import { makeTerminal } from "../layers/Progress.js"
import * as StoreFromUri from "../stores/fromUri.js"

/** Shows a schema upgrade: one message (as Nix prints), then a status line on a terminal. */
const upgradeDisplay = () => {
  const terminal = process.stderr.isTTY ? makeTerminal() : undefined
  let announced = false
  return (p: UpgradeProgress) => {
    if (!announced) {
      announced = true
      process.stderr.write("upgrading Nix store to new schema (this may take a while)...\n")
    }
    if (terminal === undefined) return
    const activity = p.phase === "reading-info-files"
      ? "reading old metadata"
      : p.phase === "registering"
      ? "registering paths"
      : "upgrading schema"
    Effect.runSync(
      p.phase === "done" ? terminal.clear : terminal.report({ activity, done: p.done, total: p.total, unit: "paths" })
    )
  }
}

/** The store layer (Store, LocalStore, StoreDb, Lock) for the current invocation, from `--store` as resolved by stores/fromUri. */
export const storeLayerFor = Effect.map(
  Cli,
  ({ layout, settings }) =>
    StoreFromUri.layerFromSpec({ _tag: "local", layout }, {
      readOnly: settings.readOnly,
      fsyncMetadata: settings.fsyncMetadata,
      busyMaxWaitSeconds: settings.dbBusyMaxWait,
      autoOptimise: settings.autoOptimiseStore,
      onUpgradeProgress: upgradeDisplay()
    })
)

/** The collector settings of the invocation. */
const gcSettingsOf = (settings: CliInvocation["settings"]) => ({
  keepOutputs: settings.keepOutputs,
  keepDerivations: settings.keepDerivations,
  gcRuntimeRoots: settings.gcRuntimeRoots
})

/**
 * The SetOptions of the invocation, as Nix's client sends its settings: verbosity, and the
 * build settings and flags (`-j`, `--cores`, `--max-silent-time`, `-K`, `-k`; `--timeout` as an
 * overridden setting), so that a daemon builds as asked.
 */
export const clientOptionsFor = (cli: CliInvocation): ClientOptions => {
  const { parsed, settings } = cli
  const uint = (v: string | undefined, fallback: number) => v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : fallback
  const jobs = parsed.values.get("max-jobs")
  const timeout = uint(parsed.values.get("timeout"), settings.timeout)
  return {
    ...defaultClientOptions,
    verbosity: 3 + parsed.verbosity,
    keepFailed: parsed.flags.has("keep-failed") || settings.keepFailed,
    keepGoing: parsed.flags.has("keep-going") || settings.keepGoing,
    maxBuildJobs: jobs === "auto" || (jobs === undefined && settings.maxJobs === "auto")
      ? os.cpus().length
      : uint(jobs, settings.maxJobs === "auto" ? 1 : settings.maxJobs),
    maxSilentTime: uint(parsed.values.get("max-silent-time"), settings.maxSilentTime),
    buildCores: uint(parsed.values.get("cores"), settings.cores),
    useSubstitutes: settings.substitute,
    overrides: timeout !== 0 ? [["timeout", String(timeout)]] : []
  }
}

/** The daemon store (`daemon`, `unix://…`, `ssh-ng://…`) of the invocation: Store, LocalStore, GcStore, BuildStore. */
export const daemonLayerFor = (cli: CliInvocation, spec: StoreFromUri.DaemonStoreSpec) =>
  StoreFromUri.daemonLayerFromSpec(spec, {
    clientOptions: clientOptionsFor(cli),
    gcSettings: gcSettingsOf(cli.settings)
  })

/** Runs `effect` with the invocation's daemon store (`spec`) and all it provides (BuildStore too). */
export const withDaemonStore = (spec: StoreFromUri.DaemonStoreSpec) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Cli, (cli) => Effect.provide(effect, daemonLayerFor(cli, spec)))

/**
 * Runs `effect` with the current invocation's store and its collector
 * (Store, LocalStore, GcStore): a local store with the collector of its
 * settings, or a daemon store over the worker protocol.
 */
export const withStore = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | LocalStoreError, Exclude<R, Store | LocalStore | GcStore> | Cli> =>
  Effect.flatMap(
    Cli,
    (cli): Effect.Effect<A, E | LocalStoreError, Exclude<R, Store | LocalStore | GcStore> | Cli> =>
      cli.store?._tag === "daemon"
        ? Effect.provide(effect, daemonLayerFor(cli, cli.store) as Layer.Layer<Store | LocalStore | GcStore>)
        // The local layer provides more services (StoreDb, Lock, Derivations): what it leaves
        // unprovided is a subset of what the daemon layer leaves, which TS cannot see for a generic R.
        : withLocalStore(effect) as Effect.Effect<
          A,
          E | LocalStoreError,
          Exclude<R, Store | LocalStore | GcStore> | Cli
        >
  )

/** `effect` with the invocation's local store and its collector. */
const withLocalStore = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    Cli,
    (cli) =>
      Effect.flatMap(storeLayerFor, (layer) =>
        Effect.provide(effect, GcLive.layer(gcSettingsOf(cli.settings)).pipe(Layer.provideMerge(layer))))
  )

/**
 * Runs `effect` with the invocation's local store and everything it provides (StoreDb, Lock,
 * Derivations besides Store, LocalStore and GcStore): for operations that need the local store's
 * own services (the daemon serving it with its Builder). A daemon store is refused with a usage
 * error naming `operation` (`-r` and `-l` handle daemon stores before they get here).
 */
export const withLocalStoreOnly = (operation: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.zipRight(
    Effect.flatMap(Cli, (cli) =>
      cli.store?._tag === "daemon"
        ? Effect.fail(
          new UsageError({
            message: `'${operation}' needs a local store, not a daemon store`
          })
        )
        : Effect.void),
    withLocalStore(effect)
  )

/** Failures of opening the local store. */
type LocalStoreError = Effect.Effect.Error<ReturnType<typeof withLocalStore<void, never, never>>>
