/**
 * Opens a binary cache from its URI: the backend chosen by the scheme
 * ({@link backendFactories}: `file` here; the http(s) and s3 backends add
 * theirs), the writer's configuration from the parameters, then the store.
 *
 * @since 0.1.0
 */
import { Effect, Either, Layer } from "effect"
import * as path from "node:path"
import type { StoreDbError } from "../../services/errors/database.js"
import { Store } from "../../services/Store.js"
import type { BinaryCacheBackend } from "./backend.js"
import { binaryCacheConfig, type BinaryCacheUri, InvalidBinaryCacheUriError, parseBinaryCacheUri } from "./config.js"
import { makeFileBackend } from "./file.js"
import { httpBackendFactory } from "./http/backend.js"
import { s3BackendFactory } from "./s3/backend.js"
import { type BinaryCacheStore, makeBinaryCacheStore } from "./store.js"

/** Makes the backend of a parsed URI. */
export type BackendFactory = (u: BinaryCacheUri) => Effect.Effect<BinaryCacheBackend, InvalidBinaryCacheUriError>

/** The backend of each scheme (add an entry for a new backend). */
export const backendFactories: Record<string, BackendFactory> = {
  file: (u) =>
    u.authorityAndPath.startsWith("/")
      ? Effect.succeed(makeFileBackend(path.resolve(u.authorityAndPath), u.base))
      : Effect.fail(new InvalidBinaryCacheUriError({ uri: u.base, reason: "a file:// cache needs an absolute path" })),
  http: httpBackendFactory,
  https: httpBackendFactory,
  s3: s3BackendFactory
}

/** The binary cache `uri` names, for a store in `storeDir` (when the URI has no `store=`). */
export const openBinaryCache = (
  uri: string,
  storeDir: string
): Effect.Effect<BinaryCacheStore, InvalidBinaryCacheUriError | StoreDbError> =>
  Effect.gen(function*() {
    const u = yield* Either.match(parseBinaryCacheUri(uri), { onLeft: Effect.fail, onRight: Effect.succeed })
    const factory = backendFactories[u.scheme]
    if (factory === undefined) {
      return yield* new InvalidBinaryCacheUriError({ uri, reason: `tsnix has no '${u.scheme}://' binary cache yet` })
    }
    const backend = yield* factory(u)
    const config = yield* binaryCacheConfig(u, storeDir)
    return yield* makeBinaryCacheStore(backend, config)
  })

/** The binary cache as a Store layer. */
export const layer = (uri: string, storeDir: string): Layer.Layer<Store, InvalidBinaryCacheUriError | StoreDbError> =>
  Layer.effect(Store, openBinaryCache(uri, storeDir))
