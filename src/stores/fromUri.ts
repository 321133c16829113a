/**
 * The one place a store URI becomes a Layer. A local store: a bare path (a
 * chroot store at that root), `local` / `auto`, with Nix's parameters
 * `?root=…&store=…&state=…&real=…&log=…` (see `stores/uri.ts`); a daemon
 * store (the worker-protocol client): `daemon`, `unix://PATH`,
 * `ssh-ng://HOST` with `?root=` (client side), `max-connections=`,
 * `remote-program=`, `remote-store=`. Binary caches (`file://…`; `http(s)://…`
 * and `s3://…` as their backends are registered in `stores/binaryCache/open.ts`)
 * are opened by {@link openStore}, which opens any of the three kinds as a
 * Store value. The CLI's `--store` goes through {@link resolve}; a library user
 * calls {@link layer} (local stores, with their StoreDb and Lock),
 * {@link storeLayer} (a local or daemon store: Store, LocalStore and GcStore),
 * {@link openStore} or {@link layerConfig}.
 *
 * @since 0.1.0
 */
import { Config, type ConfigError, Context, Effect, Layer, Option, type Scope } from "effect"
import type { GcStore } from "../services/GcStore.js"
import type { LocalStore } from "../services/LocalStore.js"
import { Store, type StoreShape } from "../services/Store.js"
import type { StoreDbError } from "../services/errors/database.js"
import { defaultStoreDir, type StoreLayout } from "../core/storeLayout.js"
import * as BinaryCache from "./binaryCache/open.js"
import { type InvalidBinaryCacheUriError, isBinaryCacheUri } from "./binaryCache/config.js"
import { type ConfAssignment, type NixConfParseError, parseNixConf } from "../config/nixConf.js"
import { type InvalidSettingError, resolveSettings } from "../config/settings.js"
import type { ClientOptions } from "../core/wire/worker/options.js"
import type { GcSettings } from "../services/GcStore.js"
import * as Daemon from "./daemon/layer.js"
import * as GcLive from "./local/gc/layer.js"
import * as Local from "./local/layer.js"
import {
  daemonClientLayout,
  type DaemonStoreUri,
  InvalidStoreUriError,
  isDaemonUri,
  parseDaemonUri,
  selectStore
} from "./uri.js"

/** A local store's spec. */
export type LocalStoreSpec = { readonly _tag: "local"; readonly layout: StoreLayout }
/** A daemon store's spec: how to reach it, and the client-side layout (`root=`). */
export type DaemonStoreSpec = {
  readonly _tag: "daemon"
  readonly layout: StoreLayout
  readonly daemon: DaemonStoreUri
}
/** What a store URI names. */
export type StoreSpec = LocalStoreSpec | DaemonStoreSpec

/** How to open a store (the parts of the local store's options that are not its location). */
export type StoreLayerOptions = Omit<Local.StoreOptions, "layout"> & {
  /** Use the closure and topological sort derived from the queries, not the store's own (conformance tests). */
  readonly generic?: boolean | undefined
}

/**
 * Resolves a store URI (undefined: `$TSNIX_STORE`, else the per-user default
 * store), reading NIX_STORE_DIR, NIX_STATE_DIR and NIX_LOG_DIR from Config,
 * as the CLI does.
 */
export const resolve = (
  uri: string | undefined
): Effect.Effect<StoreSpec, InvalidStoreUriError | ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const env = uri === undefined ? yield* Config.option(Config.string("TSNIX_STORE")) : Option.none()
    const named = uri ?? Option.getOrUndefined(Option.filter(env, (v) => v !== ""))
    if (named !== undefined && isDaemonUri(named)) {
      const daemon = yield* parseDaemonUri(named)
      const layout = yield* daemonClientLayout(daemon)
      return { _tag: "daemon", layout, daemon } satisfies DaemonStoreSpec
    }
    return { _tag: "local", layout: yield* selectStore(uri) } satisfies LocalStoreSpec
  })

/** The layer of a resolved local store: Store, LocalStore, StoreDb and Lock. */
export const layerFromSpec = (spec: LocalStoreSpec, options: StoreLayerOptions = {}) =>
  Local.layerLive({ ...options, layout: spec.layout })

/** How a daemon store is opened (besides its URI). */
export interface DaemonLayerOptions {
  readonly clientOptions?: ClientOptions | undefined
  readonly gcSettings?: Partial<GcSettings> | undefined
}

/** The layer of a resolved daemon store: Store, GcStore and LocalStore (what a daemon can do of it). */
export const daemonLayerFromSpec = (spec: DaemonStoreSpec, options: DaemonLayerOptions = {}) =>
  Daemon.layer({ uri: spec.daemon, layout: spec.layout, ...options })

/**
 * The layer of the local store `uri` names (undefined: `$TSNIX_STORE` or the
 * default store), with its StoreDb and Lock. A daemon URI is refused here:
 * use {@link storeLayer}.
 */
export const layer = (uri: string | undefined, options: StoreLayerOptions = {}) =>
  Layer.unwrapEffect(Effect.flatMap(resolve(uri), (spec) =>
    spec._tag === "local"
      ? Effect.succeed(layerFromSpec(spec, options))
      : Effect.fail(
        new InvalidStoreUriError({
          message: `'${spec.daemon.uri}' is a daemon store: open it with StoreFromUri.storeLayer`
        })
      )))

/**
 * The layer of any store `uri` names: Store, LocalStore and GcStore (for a
 * local store, its collector with `gcSettings`).
 */
export const storeLayer = (
  uri: string | undefined,
  options: StoreLayerOptions & DaemonLayerOptions = {}
): Layer.Layer<
  Store | LocalStore | GcStore,
  InvalidStoreUriError | ConfigError.ConfigError | Layer.Layer.Error<ReturnType<typeof Local.layerLive>>
> =>
  Layer.unwrapEffect(Effect.map(resolve(uri), (spec) =>
    spec._tag === "daemon"
      ? (daemonLayerFromSpec(spec, options) as Layer.Layer<Store | LocalStore | GcStore>)
      : GcLive.layer(options.gcSettings ?? {}).pipe(Layer.provideMerge(layerFromSpec(spec, options)))))

/** Failures of reading the settings from `NIX_CONFIG`. */
export type SettingsError = NixConfParseError | InvalidSettingError | ConfigError.ConfigError

/**
 * The store as the CLI would open it without `--store`: `TSNIX_STORE` (or the
 * default store), `NIX_STORE_DIR` & co., and the settings of `NIX_CONFIG`
 * (read-only, fsync-metadata, db-busy-max-wait, auto-optimise-store), all
 * read from Config. `options` override the settings.
 */
export const layerConfig = (options: StoreLayerOptions = {}) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const conf = yield* Config.option(Config.string("NIX_CONFIG"))
    const assignments: ReadonlyArray<ConfAssignment> = Option.isSome(conf)
      ? yield* parseNixConf(conf.value, "NIX_CONFIG")
      : []
    const { settings } = yield* resolveSettings(assignments)
    const spec = yield* resolve(undefined)
    if (spec._tag === "daemon") {
      return yield* new InvalidStoreUriError({
        message: `'${spec.daemon.uri}' is a daemon store: open it with StoreFromUri.storeLayer`
      })
    }
    return layerFromSpec(spec, {
      readOnly: settings.readOnly,
      fsyncMetadata: settings.fsyncMetadata,
      busyMaxWaitSeconds: settings.dbBusyMaxWait,
      autoOptimise: settings.autoOptimiseStore,
      ...options
    })
  }))

// ---------------------------------------------------------------------------
// Any store by URI, binary caches included (`tsnix copy --to/--from`, substituters)

/** Failures of opening a store by URI. */
export type OpenStoreError =
  | InvalidStoreUriError
  | InvalidBinaryCacheUriError
  | StoreDbError
  | ConfigError.ConfigError
  | Layer.Layer.Error<ReturnType<typeof Local.layerLive>>

/** The store directory binary caches are opened for (exported for the CLI) (`NIX_STORE_DIR`, else `/nix/store`). */
export const cacheStoreDir = Effect.map(
  Config.option(Config.string("NIX_STORE_DIR")),
  (o) => Option.getOrElse(Option.filter(o, (s) => s !== ""), () => defaultStoreDir)
)

/**
 * The Store `uri` names, as a value (several stores can be open at once):
 * a binary cache for `file://` (and the other cache schemes), else the local
 * or daemon store `resolve` finds (its layer lives as long as the scope).
 */
export const openStore = (
  uri: string | undefined,
  options: StoreLayerOptions = {}
): Effect.Effect<StoreShape, OpenStoreError, Scope.Scope> =>
  uri !== undefined && isBinaryCacheUri(uri)
    ? Effect.flatMap(cacheStoreDir, (storeDir) => BinaryCache.openBinaryCache(uri, storeDir))
    : Effect.gen(function*() {
      const spec = yield* resolve(uri)
      if (spec._tag === "daemon") return Context.get(yield* Layer.build(daemonLayerFromSpec(spec)), Store)
      return Context.get(yield* Layer.build(layerFromSpec(spec, options)), Store)
    })

// What callers of the factory (the CLI's copy and store sign|verify) need of the binary caches it opens.
export { isBinaryCacheUri } from "./binaryCache/config.js"
export { mimeTypes } from "./binaryCache/backend.js"
export type { BinaryCacheStore } from "./binaryCache/store.js"
