/**
 * The client's narinfo cache, like Nix's `binary-cache-v6.sqlite`: per cache
 * URL, the narinfos fetched (their text) and the ones found absent, each
 * with the time it was learnt. A positive entry is used for
 * `narinfo-cache-positive-ttl` seconds (Nix: 30 days), a negative one for
 * `narinfo-cache-negative-ttl` (1 hour); a cache's nix-cache-info never
 * expires, as in Nix. tsnix keeps its own file
 * (`$XDG_CACHE_HOME/tsnix/binary-cache-v1.sqlite`): Nix's schema stores the
 * parsed fields, tsnix the text, so the two are not shared.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Clock, Context, Data, Effect, Layer, Option, type Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** The cache database could not be opened or written. */
export class NarInfoCacheError extends Data.TaggedError("NarInfoCacheError")<{ readonly message: string }> {}

/** What the cache knows of one narinfo. */
export type CachedNarInfo =
  | { readonly _tag: "Unknown" }
  | { readonly _tag: "Absent" }
  | { readonly _tag: "Present"; readonly text: string }

/** The cache's operations for one database. */
export interface NarInfoDiskCache {
  readonly lookup: (cacheUrl: string, hashPart: string) => Effect.Effect<CachedNarInfo, NarInfoCacheError>
  /** Records a narinfo's text, or (undefined) that it is absent. */
  readonly record: (
    cacheUrl: string,
    hashPart: string,
    text: string | undefined
  ) => Effect.Effect<void, NarInfoCacheError>
  /** The cache's nix-cache-info text, once learnt (it never expires). */
  readonly cacheInfo: (cacheUrl: string) => Effect.Effect<Option.Option<string>, NarInfoCacheError>
  readonly recordCacheInfo: (cacheUrl: string, text: string) => Effect.Effect<void, NarInfoCacheError>
}

/** Where and how long. */
export interface NarInfoDiskCacheOptions {
  /** The database file (default `$XDG_CACHE_HOME/tsnix/binary-cache-v1.sqlite`, or under `~/.cache`). */
  readonly file?: string | undefined
  /** `narinfo-cache-positive-ttl`, seconds (default 30 days). */
  readonly positiveTtl?: number | undefined
  /** `narinfo-cache-negative-ttl`, seconds (default 3600). */
  readonly negativeTtl?: number | undefined
}

/** The default database file. */
export const defaultCacheFile = (): string =>
  path.join(process.env["XDG_CACHE_HOME"] ?? path.join(os.homedir(), ".cache"), "tsnix", "binary-cache-v1.sqlite")

const schema = [
  `create table if not exists CacheInfos (url text primary key not null, text text not null, timestamp integer not null)`,
  `create table if not exists NarInfos (
     url text not null, hashPart text not null, present integer not null, text text, timestamp integer not null,
     primary key (url, hashPart))`
]

const toError = (what: string) => (e: unknown) =>
  new NarInfoCacheError({
    message: `narinfo cache: ${what}: ${
      typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e)
    }`
  })

/** Opens (creating it if needed) the cache database; closed with the scope. */
export const make = (
  options: NarInfoDiskCacheOptions = {}
): Effect.Effect<NarInfoDiskCache, NarInfoCacheError, Scope.Scope> =>
  Effect.gen(function*() {
    const file = options.file ?? defaultCacheFile()
    const positiveTtl = options.positiveTtl ?? 30 * 24 * 3600
    const negativeTtl = options.negativeTtl ?? 3600
    yield* Effect.try({ try: () => fs.mkdirSync(path.dirname(file), { recursive: true }), catch: toError(file) })
    const ctx = yield* Layer.build(SqliteClient.layer({ filename: file })).pipe(
      Effect.catchAllCause((c) => Effect.fail(toError(`opening ${file}`)(c)))
    )
    const sql = Context.get(ctx, SqlClient.SqlClient)
    yield* sql.unsafe("PRAGMA busy_timeout = 5000").raw.pipe(Effect.mapError(toError(file)))
    yield* sql.unsafe("PRAGMA synchronous = OFF").raw.pipe(Effect.mapError(toError(file)))
    for (const s of schema) yield* sql.unsafe(s).raw.pipe(Effect.mapError(toError(file)))
    const now = Effect.map(Clock.currentTimeMillis, (ms) => Math.floor(ms / 1000))

    const lookup = (url: string, hashPart: string) =>
      Effect.gen(function*() {
        const rows = yield* sql<{ present: number; text: string | null; timestamp: number }>`
          select present, text, timestamp from NarInfos where url = ${url} and hashPart = ${hashPart}`
        const row = rows[0]
        if (row === undefined) return { _tag: "Unknown" } as const
        const age = (yield* now) - row.timestamp
        if (row.present === 1 && row.text !== null) {
          return age < positiveTtl ? { _tag: "Present", text: row.text } as const : { _tag: "Unknown" } as const
        }
        return age < negativeTtl ? { _tag: "Absent" } as const : { _tag: "Unknown" } as const
      }).pipe(Effect.mapError(toError("lookup")))

    const record = (url: string, hashPart: string, text: string | undefined) =>
      Effect.flatMap(now, (ts) =>
        sql`insert or replace into NarInfos (url, hashPart, present, text, timestamp)
            values (${url}, ${hashPart}, ${text === undefined ? 0 : 1}, ${text ?? null}, ${ts})`).pipe(
          Effect.asVoid,
          Effect.mapError(toError("record"))
        )

    const cacheInfo = (url: string) =>
      Effect.map(
        sql<{ text: string }>`select text from CacheInfos where url = ${url}`,
        (rows) => Option.fromNullable(rows[0]?.text)
      ).pipe(Effect.mapError(toError("lookup")))

    const recordCacheInfo = (url: string, text: string) =>
      Effect.flatMap(now, (ts) =>
        sql`insert or replace into CacheInfos (url, text, timestamp) values (${url}, ${text}, ${ts})`).pipe(
          Effect.asVoid,
          Effect.mapError(toError("record"))
        )

    return { lookup, record, cacheInfo, recordCacheInfo }
  })
