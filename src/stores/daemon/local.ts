/**
 * The {@link LocalStore} contract as far as a daemon can do it: its layout
 * is the client's view (`root=`: where this process reads `.drv` files),
 * OptimiseStore (34) optimises the daemon's store, and the seed's
 * QueryFailedPaths / ClearFailedPaths (24, 25), which tsnix's daemon serves
 * (Nix 2.8's refuses them). Registering, invalidating and deleting paths
 * directly are not operations of the protocol: they fail with
 * UnsupportedOperationError, as Nix's "not supported by store".
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { StoreLayout } from "../../core/storeLayout.js"
import { bool } from "../../core/wire/decode.js"
import { Op } from "../../core/wire/worker/ops.js"
import { encodeSet, pathSet } from "../../core/wire/worker/values.js"
import { UnsupportedOperationError } from "../../services/errors/remote.js"
import type { LocalStoreShape } from "../../services/LocalStore.js"
import type { DaemonClient } from "./client.js"

/** Builds the LocalStore service of a daemon reached through `client`. */
export const makeLocalStore = (client: DaemonClient, layout: StoreLayout): LocalStoreShape => {
  const unsupported = (operation: string) =>
    Effect.fail(new UnsupportedOperationError({ operation, store: client.uri }))
  const failedPaths = Effect.map(
    client.call(Op.QueryFailedPaths, [], pathSet),
    (paths) => paths.map((path) => ({ path, time: 0 }))
  )
  return {
    layout,
    registerValidPaths: () => unsupported("registerValidPaths"),
    registerValidity: () => unsupported("registerValidPaths"),
    invalidatePaths: () => unsupported("invalidatePaths"),
    deletePaths: () => unsupported("deletePaths"),
    registerFailedPaths: () => unsupported("registerFailedPaths"),
    isFailedPath: (p) => Effect.map(failedPaths, (fs) => fs.some((f) => f.path === p)),
    queryFailedPaths: failedPaths,
    clearFailedPaths: (paths) =>
      Effect.asVoid(client.call(Op.ClearFailedPaths, [paths === "all" ? encodeSet(["*"]) : encodeSet(paths)], bool)),
    optimiseStore: () =>
      Effect.as(client.call(Op.OptimiseStore, [], bool), { filesLinked: 0, bytesFreed: 0, blocksFreed: 0 }),
    optimisePath: () => unsupported("optimisePath"),
    repairPath: () => unsupported("repairPath")
  }
}
