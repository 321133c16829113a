/**
 * The small interface a binary cache is built on (Nix's BinaryCacheStore
 * primitives): whether a file exists, a file's bytes as a stream, and
 * writing a file. A backend knows nothing of narinfos or NARs: the file
 * backend (`file://`), HTTP and S3 implement it, and {@link makeBinaryCacheStore}
 * turns any of them into a Store.
 *
 * Paths are relative to the cache's root: `nix-cache-info`,
 * `<hash>.narinfo`, `nar/<file hash>.nar.xz`, `<hash>.ls`, `log/<drv>`,
 * `realisations/<id>.doi`. The store only asks for such names (it refuses
 * a narinfo URL that climbs out of the cache); a backend still refuses a
 * path that would leave its root.
 *
 * This interface is stable: backends outside this folder implement it, so it
 * only grows (optional members), it is not renamed.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { Effect, Option, Stream } from "effect"

/** A backend operation failed (I/O, network, permissions); `uri` names the cache, `path` the file. */
export class BinaryCacheBackendError extends Data.TaggedError("BinaryCacheBackendError")<{
  readonly uri: string
  readonly path: string
  readonly operation: "fileExists" | "getFile" | "upsertFile" | "listFiles" | "init"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.operation} '${this.path}' in binary cache '${this.uri}': ${this.detail}`
  }
}

/** What a binary cache's storage must do. */
export interface BinaryCacheBackend {
  /** The cache's URI, as the user wrote it without its parameters (`file:///srv/cache`), for messages. */
  readonly uri: string
  /** Prepares the storage (the file backend creates its directories); called once, before anything else. */
  readonly init: Effect.Effect<void, BinaryCacheBackendError>
  /** Whether `path` exists (HTTP: HEAD; 404/403/410 mean no). */
  readonly fileExists: (path: string) => Effect.Effect<boolean, BinaryCacheBackendError>
  /**
   * The bytes of `path`, or none when it does not exist. The outer effect
   * decides existence (so "absent" is never a stream error); the stream fails
   * with BinaryCacheBackendError when reading breaks off.
   */
  readonly getFile: (
    path: string
  ) => Effect.Effect<Option.Option<Stream.Stream<Uint8Array, BinaryCacheBackendError>>, BinaryCacheBackendError>
  /**
   * Writes `path` (replacing it) from `data`, atomically where the storage
   * allows: readers see the old file or the whole new one, never a part. If
   * `data` fails, nothing is written and its error is returned.
   */
  readonly upsertFile: <E>(
    path: string,
    data: Stream.Stream<Uint8Array, E>,
    mimeType: string
  ) => Effect.Effect<void, BinaryCacheBackendError | E>
  /**
   * The names of the files at the cache's root (for `queryAllValidPaths`:
   * the `*.narinfo` ones), when the storage can list them (file://, S3);
   * undefined when it cannot (plain HTTP).
   */
  readonly listFiles?: Effect.Effect<ReadonlyArray<string>, BinaryCacheBackendError> | undefined
  /**
   * A directory where the store may spool a NAR it is writing, so that
   * {@link adoptFile} can put it in place without copying it (file://: a
   * directory inside the cache, same file system); undefined: the system's
   * temporary directory, and the NAR is uploaded with {@link upsertFile}.
   */
  readonly spoolDir?: string | undefined
  /** Moves a finished file of {@link spoolDir} to `path` atomically (a rename), replacing it. */
  readonly adoptFile?: ((path: string, spooled: string) => Effect.Effect<void, BinaryCacheBackendError>) | undefined
}

/** The MIME types Nix uploads with. */
export const mimeTypes = {
  narInfo: "text/x-nix-narinfo",
  nar: "application/x-nix-nar",
  cacheInfo: "text/x-nix-cache-info",
  listing: "application/json",
  log: "text/plain; charset=utf-8"
} as const
