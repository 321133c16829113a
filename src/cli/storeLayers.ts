/**
 * The store an operation runs against, built from the invocation's layout and
 * settings.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { defaultClientOptions } from "../core/wire/worker/options.js"
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

/** The daemon store (`daemon`, `unix://…`, `ssh-ng://…`) of the invocation: Store, LocalStore, GcStore. */
export const daemonLayerFor = (cli: CliInvocation, spec: StoreFromUri.DaemonStoreSpec) =>
  StoreFromUri.daemonLayerFromSpec(spec, {
    clientOptions: { ...defaultClientOptions, verbosity: 3 + cli.parsed.verbosity },
    gcSettings: gcSettingsOf(cli.settings)
  })

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
        ? Effect.provide(effect, daemonLayerFor(cli, cli.store))
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
 * own services (building). A daemon store is refused with a usage error naming `operation`.
 */
export const withLocalStoreOnly = (operation: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.zipRight(
    Effect.flatMap(Cli, (cli) =>
      cli.store?._tag === "daemon"
        ? Effect.fail(
          new UsageError({
            message: `'${operation}' through a daemon store is not supported yet (the daemon's build ops are not wired)`
          })
        )
        : Effect.void),
    withLocalStore(effect)
  )

/** Failures of opening the local store. */
type LocalStoreError = Effect.Effect.Error<ReturnType<typeof withLocalStore<void, never, never>>>
