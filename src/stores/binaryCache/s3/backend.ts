/**
 * The `s3://bucket?…` binary cache backend: the S3 transport (`client.ts`)
 * behind the {@link BinaryCacheBackend} interface; `listFiles` lists the
 * bucket's top level (what queryAllValidPaths reads). The client lives as
 * long as the process, as the http backend's.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option, Scope, Stream } from "effect"
import { type BinaryCacheBackend, BinaryCacheBackendError } from "../backend.js"
import { type BinaryCacheUri, InvalidBinaryCacheUriError } from "../config.js"
import { make as makeTransport, S3CacheError, type S3TransportOptions } from "./client.js"
import { parseS3Uri, type S3Location } from "./uri.js"

const toBackendError =
  (uri: string, path: string, operation: BinaryCacheBackendError["operation"]) => (e: S3CacheError) =>
    new BinaryCacheBackendError({ uri, path, operation, detail: e.message, cause: e })

/** The backend of a bucket. */
export const makeS3Backend = (
  location: S3Location,
  options: S3TransportOptions = {}
): Effect.Effect<BinaryCacheBackend> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const t = yield* Scope.extend(makeTransport(location, options), scope)
    const uri = `s3://${location.bucket}`
    return {
      uri,
      init: Effect.void,
      fileExists: (path) => Effect.mapError(t.exists(path), toBackendError(uri, path, "fileExists")),
      getFile: (path) =>
        t.getStream(path).pipe(
          Effect.map(Option.map(Stream.mapError(toBackendError(uri, path, "getFile")))),
          Effect.mapError(toBackendError(uri, path, "getFile"))
        ),
      upsertFile: (path, data, mimeType) =>
        t.put(path, data, mimeType).pipe(
          Effect.catchIf(
            (e): e is S3CacheError => e instanceof S3CacheError,
            (e) => Effect.fail(toBackendError(uri, path, "upsertFile")(e))
          )
        ),
      listFiles: Effect.mapError(t.listTopLevel, toBackendError(uri, "", "listFiles"))
    }
  })

/** The backend factory of `s3://` URIs. */
export const s3BackendFactory = (
  u: BinaryCacheUri
): Effect.Effect<BinaryCacheBackend, InvalidBinaryCacheUriError> =>
  Either.match(parseS3Uri(`${u.base}${u.params.size > 0 ? `?${new URLSearchParams([...u.params]).toString()}` : ""}`), {
    onLeft: (e) => Effect.fail(new InvalidBinaryCacheUriError({ uri: u.base, reason: e.reason })),
    onRight: (location) => makeS3Backend(location)
  })
