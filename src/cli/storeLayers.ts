/**
 * The store an operation runs against, built from the invocation's layout and
 * settings.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Cli } from "./context.js"
import * as StoreLive from "../layers/Store.js"

/** The local store layer (Store, StoreDb, Lock) for the current invocation. */
export const storeLayerFor = Effect.map(Cli, ({ layout, settings }) =>
  StoreLive.layer({
    layout,
    readOnly: settings.readOnly,
    fsyncMetadata: settings.fsyncMetadata,
    busyMaxWaitSeconds: settings.dbBusyMaxWait,
    onUpgradeProgress: (message) => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[Kupgrading Nix store: ${message}`)
    }
  }))

/** Runs `effect` with the current invocation's store (Store, StoreDb, Lock) provided. */
export const withStore = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(storeLayerFor, (layer) => Effect.provide(effect, layer))
