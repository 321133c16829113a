/**
 * The store an operation runs against, built from the invocation's layout and
 * settings.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Cli } from "./context.js"
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

/** Runs `effect` with the current invocation's store (Store, StoreDb, Lock) provided. */
export const withStore = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(storeLayerFor, (layer) => Effect.provide(effect, layer))
