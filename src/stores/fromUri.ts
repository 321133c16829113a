/**
 * The one place a store URI becomes a Layer. The CLI's own store is a local
 * store: a bare path (a chroot store at that root), `local` / `auto`, with
 * Nix's parameters `?root=…&store=…&state=…&real=…&log=…` (see
 * `stores/uri.ts`). {@link openStore} / {@link storeLayer} also open binary
 * caches (`file://…`; `http(s)://…` and `s3://…` as their backends are
 * registered in `stores/binaryCache/open.ts`); `daemon`, `unix://…` and
 * `ssh-ng://…` are refused until their stores exist. The CLI's
 * `--store` goes through {@link resolve}; a library user calls {@link layer}
 * or {@link layerConfig}.
 *
 * @since 0.1.0
 */
import { Config, type ConfigError, Context, Effect, Layer, Option, type Scope } from "effect"
import { defaultStoreDir, type StoreLayout } from "../core/storeLayout.js"
import { type ConfAssignment, type NixConfParseError, parseNixConf } from "../config/nixConf.js"
import { type InvalidSettingError, resolveSettings } from "../config/settings.js"
import type { StoreDbError } from "../services/errors/database.js"
import { Store, type StoreShape } from "../services/Store.js"
import * as BinaryCache from "./binaryCache/open.js"
import { type InvalidBinaryCacheUriError, isBinaryCacheUri } from "./binaryCache/config.js"
import * as Local from "./local/layer.js"
import { type InvalidStoreUriError, selectStore } from "./uri.js"

/** What a store URI names. */
export type StoreSpec = { readonly _tag: "local"; readonly layout: StoreLayout }

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
  Effect.map(selectStore(uri), (layout) => ({ _tag: "local", layout }))

/** The layer of a resolved store: Store, LocalStore, StoreDb and Lock for a local store. */
export const layerFromSpec = (spec: StoreSpec, options: StoreLayerOptions = {}) =>
  Local.layerLive({ ...options, layout: spec.layout })

/** The layer of the store `uri` names (undefined: `$TSNIX_STORE` or the default store). */
export const layer = (uri: string | undefined, options: StoreLayerOptions = {}) =>
  Layer.unwrapEffect(Effect.map(resolve(uri), (spec) => layerFromSpec(spec, options)))

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
 * store `resolve` finds (its layer lives as long as the scope).
 */
export const openStore = (
  uri: string | undefined,
  options: StoreLayerOptions = {}
): Effect.Effect<StoreShape, OpenStoreError, Scope.Scope> =>
  uri !== undefined && isBinaryCacheUri(uri)
    ? Effect.flatMap(cacheStoreDir, (storeDir) => BinaryCache.openBinaryCache(uri, storeDir))
    : Effect.gen(function*() {
      const spec = yield* resolve(uri)
      const ctx = yield* Layer.build(layerFromSpec(spec, options))
      return Context.get(ctx, Store)
    })

/** The Store `uri` names as a layer (binary caches included). */
export const storeLayer = (uri: string | undefined, options: StoreLayerOptions = {}): Layer.Layer<Store, OpenStoreError> =>
  Layer.scoped(Store, openStore(uri, options))
