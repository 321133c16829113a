/**
 * The daemon store: Store, GcStore, BuildStore and (as far as a daemon can)
 * LocalStore over the worker protocol, for `daemon`, `unix://PATH` and `ssh-ng://HOST`.
 * Connections are pooled (`max-connections`) and closed with the layer.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { StoreLayout } from "../../core/storeLayout.js"
import { type ClientOptions, defaultClientOptions } from "../../core/wire/worker/options.js"
import { BuildStore } from "../../services/BuildStore.js"
import { GcStore, type GcSettings } from "../../services/GcStore.js"
import { LocalStore } from "../../services/LocalStore.js"
import { Store } from "../../services/Store.js"
import type { DaemonStoreUri } from "./spec.js"
import { makeBuildStore } from "./build.js"
import * as Client from "./client.js"
import { makeGcStore } from "./gc.js"
import { makeLocalStore } from "./local.js"
import { makeStore } from "./store.js"

/** How to open a daemon store. */
export interface DaemonStoreOptions {
  readonly uri: DaemonStoreUri
  /** The client-side layout (the logical store directory; `root=`). */
  readonly layout: StoreLayout
  /** SetOptions for Unix-socket connections (default: what a 2.8 client sends without options). */
  readonly clientOptions?: ClientOptions | undefined
  /** The settings the GcStore reports and `queryRoots` uses (the daemon collects with its own). */
  readonly gcSettings?: Partial<GcSettings> | undefined
}

/** The services of a daemon store. */
export const layer = (options: DaemonStoreOptions): Layer.Layer<Store | GcStore | LocalStore | BuildStore> =>
  Layer.scopedContext(Effect.gen(function*() {
    const client = yield* Client.make({
      uri: options.uri.uri,
      transport: options.uri.transport,
      maxConnections: options.uri.maxConnections,
      clientOptions: options.clientOptions ?? defaultClientOptions
    })
    const store = makeStore(client, options.layout.storeDir)
    const gc = makeGcStore(client, store, {
      keepOutputs: options.gcSettings?.keepOutputs ?? false,
      keepDerivations: options.gcSettings?.keepDerivations ?? true,
      gcRuntimeRoots: options.gcSettings?.gcRuntimeRoots ?? true
    })
    const local = makeLocalStore(client, options.layout)
    return Context.make(Store, store).pipe(
      Context.add(GcStore, gc),
      Context.add(LocalStore, local),
      Context.add(BuildStore, makeBuildStore(client))
    )
  }))
