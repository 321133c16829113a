/**
 * `tsnix serve`: a binary cache over HTTP for any store, live (no copy).
 * Built on @effect/platform's HttpServer: {@link makeApp} is the HttpApp,
 * {@link layer} serves it on Node at an address.
 *
 * Every response is computed from the Store: narinfos from its path info
 * (signed on the fly with the server's key), NARs streamed from
 * `narFromPath` (compressed on the fly when the URL asks; byte ranges on the
 * uncompressed form), build logs from a local store's log directory. The
 * node response waits for `drain` between chunks, so a slow client holds
 * back its own NAR stream and nothing else: memory per connection stays at
 * a few chunks.
 *
 * @since 0.1.0
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect, Layer, Option, Stream } from "effect"
import { createServer } from "node:http"
import * as fs from "node:fs"
import * as path from "node:path"
import { printHash } from "../core/hash.js"
import type { ValidPathInfo } from "../core/pathInfo.js"
import { hashPart as hashPartOf } from "../core/storePathBrand.js"
import { compress } from "../io/compression.js"
import { withSlicedScheduler } from "../io/slicedScheduler.js"
import { LocalStore } from "../services/LocalStore.js"
import { Store, type StoreShape } from "../services/Store.js"
import type { SecretKey } from "../core/cache/signing.js"
import { cacheInfoText, listingText, narInfoText } from "./formats.js"
import { contentRange, parseRange } from "./range.js"
import { narExtension, type NarCompression, parseRoute, type Route } from "./routes.js"

/** How the server answers. */
export interface ServeOptions {
  /** `Priority:` in nix-cache-info (lower is preferred by Nix; default 30). */
  readonly priority?: number | undefined
  /** The compression the narinfos' URLs ask for (default none: NARs sent as they are, ranges allowed). */
  readonly compression?: NarCompression | undefined
  /** Keys the narinfos are signed with, on the fly (their existing signatures are kept). */
  readonly secretKeys?: ReadonlyArray<SecretKey> | undefined
}

/**
 * The codec levels of NARs compressed while they are sent: xz at preset 1 (liblzma's default, 6,
 * takes ~94 MiB per encoder, so 50 clients would hold gigabytes, and compresses a few MB/s; preset 1
 * needs ~10 MiB); zstd at its default (3).
 */
const onTheFlyLevel: Readonly<Record<NarCompression, number | undefined>> = { none: undefined, xz: 1, zstd: undefined }

const cacheForever = "public, max-age=31536000, immutable"
const cacheNarInfo = "public, max-age=86400"
const noStore = "no-store"

const text = (status: number, body: string, contentType: string, cacheControl: string) =>
  HttpServerResponse.text(body, { status, contentType, headers: { "cache-control": cacheControl } })

const notFound = text(404, "not found\n", "text/plain; charset=utf-8", noStore)
const badRequest = (reason: string) => text(400, `bad request: ${reason}\n`, "text/plain; charset=utf-8", noStore)

/** The URL (relative to the cache) a narinfo points to for a path's NAR. */
export const narUrl = (info: ValidPathInfo, compression: NarCompression): string =>
  `nar/${hashPartOf(info.path)}-${printHash(info.narHash, "nix32")}.nar${narExtension[compression]}`

/** Keeps bytes `start` to `start + length - 1` of a byte stream. */
const sliceBytes = (start: number, length: number) => <E, R>(s: Stream.Stream<Uint8Array, E, R>) =>
  Stream.suspend(() => {
    let pos = 0
    const end = start + length
    return s.pipe(
      Stream.map((chunk) => {
        const chunkStart = pos
        pos += chunk.length
        const from = Math.max(0, start - chunkStart)
        const to = Math.min(chunk.length, end - chunkStart)
        return from < to ? chunk.subarray(from, to) : chunk.subarray(0, 0)
      }),
      Stream.takeUntil(() => pos >= end),
      Stream.filter((c) => c.length > 0)
    )
  })

/** A NAR stream that fails unless it has exactly `size` bytes (a store whose files changed under it). */
const exactly = (size: number, what: string) => <E, R>(s: Stream.Stream<Uint8Array, E, R>) =>
  Stream.suspend(() => {
    let n = 0
    return s.pipe(
      Stream.tap((c) => {
        n += c.length
        return n > size ? Effect.dieMessage(`the NAR of ${what} is longer than its recorded size ${size}`) : Effect.void
      }),
      Stream.concat(Stream.suspend(() =>
        n === size ? Stream.empty : Stream.dieMessage(`the NAR of ${what} has ${n} bytes, not its recorded ${size}`)
      ))
    )
  })

const lookUp = (store: StoreShape, hashPart: string) =>
  Effect.flatMap(
    store.queryPathFromHashPart(hashPart),
    Option.match({
      onNone: () => Effect.succeed(Option.none<ValidPathInfo>()),
      onSome: (p) => store.queryPathInfo(p)
    })
  )

/**
 * The cache server's HttpApp for the Store in context (and a LocalStore's
 * log directory when there is one). GET and HEAD only; every URL is parsed
 * by {@link parseRoute}.
 */
export const makeApp = (options: ServeOptions = {}) =>
  Effect.gen(function*() {
    const store = yield* Store
    const local = yield* Effect.serviceOption(LocalStore)
    const priority = options.priority ?? 30
    const defaultCompression = options.compression ?? "none"
    const keys = options.secretKeys ?? []

    const serveNar = (
      request: HttpServerRequest.HttpServerRequest,
      info: ValidPathInfo,
      compression: NarCompression
    ) => {
      const what = `'${info.path}'`
      const headers: Record<string, string> = { "cache-control": cacheForever }
      // A failure once the headers are out cannot become an error status: cut the connection,
      // so the client sees a truncated transfer, never a short body that looks complete.
      const cutOnFailure = <E, R>(s: Stream.Stream<Uint8Array, E, R>) =>
        s.pipe(Stream.onError(() => Effect.sync(() => NodeHttpServerRequest.toServerResponse(request).destroy())))
      if (compression !== "none") {
        // compressed while it is sent: no length known in advance, so no ranges either
        if (request.method === "HEAD") {
          return Effect.succeed(
            HttpServerResponse.empty({ status: 200, headers: { ...headers, "content-type": "application/x-nix-nar" } })
          )
        }
        const body = store.narFromPath(info.path).pipe(
          exactly(info.narSize, what),
          compress(compression, { level: onTheFlyLevel[compression] })
        )
        return Effect.succeed(
          HttpServerResponse.stream(cutOnFailure(body), { status: 200, headers, contentType: "application/x-nix-nar" })
        )
      }
      const size = info.narSize
      const range = parseRange(request.headers["range"], size)
      headers["accept-ranges"] = "bytes"
      const cr = contentRange(range, size)
      if (cr !== undefined) headers["content-range"] = cr
      if (range._tag === "Unsatisfiable") {
        return Effect.succeed(HttpServerResponse.empty({ status: 416, headers }))
      }
      const [status, start, length] = range._tag === "Partial"
        ? [206, range.start, range.end - range.start + 1]
        : [200, 0, size]
      if (request.method === "HEAD") {
        return Effect.succeed(HttpServerResponse.empty({
          status,
          headers: { ...headers, "content-type": "application/x-nix-nar", "content-length": String(length) }
        }))
      }
      const nar = store.narFromPath(info.path).pipe(exactly(size, what))
      const body = range._tag === "Partial" ? nar.pipe(sliceBytes(start, length)) : nar
      return Effect.succeed(HttpServerResponse.stream(cutOnFailure(body), {
        status,
        headers,
        contentType: "application/x-nix-nar",
        contentLength: length
      }))
    }

    const serveLog = (drvBaseName: string) =>
      Effect.gen(function*() {
        if (Option.isNone(local)) return notFound
        const file = path.join(local.value.layout.logDir, "drvs", drvBaseName.slice(0, 2), drvBaseName.slice(2))
        const content = yield* Effect.tryPromise(() => fs.promises.readFile(file)).pipe(Effect.option)
        if (Option.isNone(content)) return notFound
        return HttpServerResponse.uint8Array(content.value, {
          contentType: "text/plain; charset=utf-8",
          headers: { "cache-control": cacheNarInfo }
        })
      })

    const answer = (request: HttpServerRequest.HttpServerRequest, route: Route) =>
      Effect.gen(function*() {
        switch (route._tag) {
          case "BadRequest":
            return badRequest(route.reason)
          case "NotFound":
            return notFound
          case "CacheInfo":
            return text(200, cacheInfoText(store.storeDir, priority), "text/x-nix-cache-info", cacheNarInfo)
          case "NarInfo": {
            const info = yield* lookUp(store, route.hashPart)
            if (Option.isNone(info) || info.value.narSize === 0) return notFound
            const body = narInfoText(info.value, narUrl(info.value, defaultCompression), defaultCompression, keys)
            return text(200, body, "text/x-nix-narinfo", cacheNarInfo)
          }
          case "Listing": {
            const info = yield* lookUp(store, route.hashPart)
            if (Option.isNone(info)) return notFound
            const listing = yield* listingText(store.narFromPath(info.value.path))
            return text(200, listing, "application/json", cacheNarInfo)
          }
          case "Nar": {
            const info = yield* lookUp(store, route.hashPart)
            if (Option.isNone(info) || info.value.narSize === 0) return notFound
            if (route.narHash !== undefined && route.narHash !== printHash(info.value.narHash, "nix32")) {
              return notFound
            }
            return yield* serveNar(request, info.value, route.compression)
          }
          case "Log":
            return yield* serveLog(route.drvBaseName)
        }
      })

    return Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (request.method !== "GET" && request.method !== "HEAD") {
        return HttpServerResponse.text("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } })
      }
      return yield* answer(request, parseRoute(request.url))
    }).pipe(
      Effect.catchAll((e) =>
        Effect.as(
          Effect.logError(`serve: ${e._tag}: ${"message" in e ? String(e.message) : ""}`),
          text(500, "internal error\n", "text/plain; charset=utf-8", noStore)
        )
      )
    )
  })

/** Where to listen: `HOST:PORT` (`[::1]:PORT` for IPv6; port 0 picks a free one). */
export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/** Parses `HOST:PORT` / `[V6]:PORT`, or undefined when it is not one. */
export const parseListen = (s: string): ListenAddress | undefined => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(s)
  if (m === null) return undefined
  const port = Number(m[3])
  if (port > 65535) return undefined
  return { host: (m[1] ?? m[2]) as string, port }
}

/**
 * The server, listening at `address`, for the Store in context; HttpServer stays available (its address).
 * Its fibers (every request's) run on the sliced scheduler: however many clients are served at once,
 * the event loop gets a turn every few milliseconds.
 */
export const layer = (address: ListenAddress, options: ServeOptions = {}) =>
  Layer.unwrapEffect(Effect.map(makeApp(options), (app) => HttpServer.serve(app))).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => createServer({ keepAlive: true }), address)),
    withSlicedScheduler
  )
