/**
 * The `http(s)://host[/prefix]` binary cache backend: the transport
 * (`client.ts`: keep-alive, retries, netrc, resumed downloads) behind the
 * {@link BinaryCacheBackend} interface, with the narinfo disk cache
 * (`narInfoDiskCache.ts`) in front of narinfo reads: a narinfo known present
 * or absent (within its TTL) is not fetched again, and an upload records
 * the narinfo as present, as Nix's binary-cache sqlite does.
 *
 * Settings, read from `NIX_CONFIG` when the cache is opened:
 * `narinfo-cache-positive-ttl`, `narinfo-cache-negative-ttl`,
 * `download-attempts`, `netrc-file`, `http-connections`, `connect-timeout`.
 * The transport lives as long as the process (its idle keep-alive sockets
 * do not keep the process running: Node unrefs them).
 *
 * @since 0.1.0
 */
import { Chunk, Config, Effect, Either, Option, Scope, Stream } from "effect"
import { parseNixConf } from "../../../config/nixConf.js"
import { type BinaryCacheBackend, BinaryCacheBackendError } from "../backend.js"
import type { BinaryCacheUri } from "../config.js"
import { HttpCacheError, type HttpTransportOptions, make as makeTransport } from "./client.js"
import * as DiskCache from "./narInfoDiskCache.js"

/** How the backend is opened (settings; tests give their own cache file). */
export interface HttpBackendOptions extends HttpTransportOptions {
  /** The narinfo disk cache: its file and TTLs; `false` for none. */
  readonly narInfoCache?: DiskCache.NarInfoDiskCacheOptions | false | undefined
}

const narInfoName = /^([0-9a-df-np-sv-z]{32})\.narinfo$/

const toBackendError =
  (uri: string, path: string, operation: BinaryCacheBackendError["operation"]) => (e: HttpCacheError) =>
    new BinaryCacheBackendError({ uri, path, operation, detail: e.message, cause: e })

const collect = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => new Uint8Array(Buffer.concat(Chunk.toReadonlyArray(c))))

/** The backend of the cache at `base` (`http://host[/prefix]`, no parameters). */
export const makeHttpBackend = (
  base: string,
  options: HttpBackendOptions = {}
): Effect.Effect<BinaryCacheBackend> =>
  Effect.gen(function*() {
    // process lifetime: see the module comment
    const scope = yield* Scope.make()
    const transport = yield* Scope.extend(makeTransport(base, options), scope)
    const uri = transport.baseUrl
    const disk = options.narInfoCache === false
      ? undefined
      : yield* Scope.extend(DiskCache.make(options.narInfoCache ?? {}), scope).pipe(
        Effect.tapError((e) => Effect.logWarning(`${e.message}; going on without it`)),
        Effect.option,
        Effect.map(Option.getOrUndefined)
      )
    const cached = (path: string) => {
      const m = narInfoName.exec(path)
      if (disk === undefined || m === null) return Effect.succeed<DiskCache.CachedNarInfo>({ _tag: "Unknown" })
      return Effect.orElseSucceed(
        disk.lookup(uri, m[1] as string),
        (): DiskCache.CachedNarInfo => ({ _tag: "Unknown" })
      )
    }
    const remember = (path: string, text: string | undefined) => {
      const m = narInfoName.exec(path)
      return disk === undefined || m === null ? Effect.void : Effect.ignore(disk.record(uri, m[1] as string, text))
    }

    const fileExists = (path: string) =>
      Effect.flatMap(cached(path), (c) => {
        if (c._tag !== "Unknown") return Effect.succeed(c._tag === "Present")
        return transport.exists(path).pipe(
          Effect.tap((there) => (there ? Effect.void : remember(path, undefined))),
          Effect.mapError(toBackendError(uri, path, "fileExists"))
        )
      })

    const getFile = (path: string) =>
      Effect.flatMap(cached(path), (c) => {
        if (c._tag === "Present") return Effect.succeed(Option.some(Stream.make(new TextEncoder().encode(c.text))))
        if (c._tag === "Absent") return Effect.succeed(Option.none())
        if (narInfoName.test(path)) {
          // small: read whole, so it can be recorded
          return transport.get(path).pipe(
            Effect.tap((o) => remember(path, Option.isSome(o) ? Buffer.from(o.value).toString("utf8") : undefined)),
            Effect.map(Option.map((bytes) => Stream.make(bytes))),
            Effect.mapError(toBackendError(uri, path, "getFile"))
          )
        }
        return transport.getStream(path).pipe(
          Effect.map(Option.map(Stream.mapError(toBackendError(uri, path, "getFile")))),
          Effect.mapError(toBackendError(uri, path, "getFile"))
        )
      })

    const upsertFile = <E>(path: string, data: Stream.Stream<Uint8Array, E>, mimeType: string) =>
      narInfoName.test(path) || path === "nix-cache-info"
        ? Effect.flatMap(collect(data), (bytes) =>
          transport.put(path, bytes, mimeType).pipe(
            Effect.mapError(toBackendError(uri, path, "upsertFile")),
            Effect.zipRight(remember(path, Buffer.from(bytes).toString("utf8")))
          ))
        : transport.put(path, data, mimeType).pipe(
          Effect.catchIf(
            (e): e is HttpCacheError => e instanceof HttpCacheError,
            (e) => Effect.fail(toBackendError(uri, path, "upsertFile")(e))
          )
        )

    return { uri, init: Effect.void, fileExists, getFile, upsertFile }
  }).pipe(Effect.orDie)

/** The settings of NIX_CONFIG the http backend uses (last assignment wins). */
export const httpOptionsFromNixConfig: Effect.Effect<HttpBackendOptions> = Effect.gen(function*() {
  const conf = yield* Effect.orElseSucceed(Config.option(Config.string("NIX_CONFIG")), () => Option.none<string>())
  const values = new Map<string, string>()
  if (Option.isSome(conf)) {
    const parsed = parseNixConf(conf.value, "NIX_CONFIG")
    if (Either.isRight(parsed)) { for (const a of parsed.right) values.set(a.name, a.value.trim()) }
  }
  const num = (name: string) => {
    const v = values.get(name)
    return v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : undefined
  }
  return {
    downloadAttempts: num("download-attempts"),
    maxConnections: num("http-connections") || undefined,
    connectTimeout: num("connect-timeout"),
    netrcFile: values.get("netrc-file") ?? "/etc/nix/netrc",
    narInfoCache: { positiveTtl: num("narinfo-cache-positive-ttl"), negativeTtl: num("narinfo-cache-negative-ttl") }
  }
})

/** The backend factory of `http://` and `https://` URIs. */
export const httpBackendFactory = (u: BinaryCacheUri): Effect.Effect<BinaryCacheBackend> =>
  Effect.flatMap(httpOptionsFromNixConfig, (options) => makeHttpBackend(u.base, options))
