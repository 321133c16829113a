/**
 * The transport of an `http(s)://host[/prefix]` binary cache: GET, HEAD and
 * PUT of the cache's files over one keep-alive agent (connections are
 * reused; up to `maxConnections` requests run in parallel), with Nix's status
 * semantics ({@link classifyStatus}), retries with exponential backoff and
 * jitter on transient failures (`download-attempts`), credentials from a
 * netrc file, and downloads that resume from where they broke off when the
 * server allows ranges (as Nix's do); a body shorter than its
 * Content-Length is an error, never a short file.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Data, Duration, Effect, Layer, Option, Schedule, type Scope, Stream } from "effect"
import * as fs from "node:fs"
import { IncomingMessage } from "node:http"
import { version } from "../../../version.js"
import { type NetrcEntry, netrcFor, parseNetrc } from "./netrc.js"
import { classifyStatus } from "./status.js"

/** A request to the cache failed (after its retries, when transient). */
export class HttpCacheError extends Data.TaggedError("HttpCacheError")<{
  readonly message: string
  readonly url: string
  /** The HTTP status, when the server answered. */
  readonly status?: number | undefined
  /** True when retrying could help (a 5xx, a broken connection). */
  readonly transient: boolean
}> {}

/** How the transport behaves (Nix's settings, with its defaults). */
export interface HttpTransportOptions {
  /** `download-attempts`: tries of a request before its failure is reported (default 5). */
  readonly downloadAttempts?: number | undefined
  /** First retry delay, doubled each time, with jitter (default 250 ms, as Nix). */
  readonly retryBaseDelay?: Duration.DurationInput | undefined
  /** `netrc-file`: credentials for the cache's host (default none). */
  readonly netrcFile?: string | undefined
  /** `http-connections`: parallel connections to the cache (default 25). */
  readonly maxConnections?: number | undefined
  /** `connect-timeout`, in seconds (default 0: the system's). */
  readonly connectTimeout?: number | undefined
}

/** The transport of one cache. */
export interface HttpTransport {
  /** The cache's URL, without a trailing slash. */
  readonly baseUrl: string
  /** The absolute URL of a file of the cache (an absolute URL is kept as it is). */
  readonly urlOf: (file: string) => string
  /** HEAD: true when the file is there, false when it is absent (404, 403, 410, …). */
  readonly exists: (file: string) => Effect.Effect<boolean, HttpCacheError>
  /** GET of a small file, whole; none when it is absent. */
  readonly get: (file: string) => Effect.Effect<Option.Option<Uint8Array>, HttpCacheError>
  /**
   * GET of a file as a byte stream (none when it is absent): resumed with a
   * Range request when the connection breaks and the server allows it.
   */
  readonly getStream: (
    file: string
  ) => Effect.Effect<Option.Option<Stream.Stream<Uint8Array, HttpCacheError>>, HttpCacheError>
  /**
   * PUT of a file. A byte array is retried on transient failures; a stream
   * is sent once (it cannot be replayed).
   */
  readonly put: <E = never>(
    file: string,
    body: Uint8Array | Stream.Stream<Uint8Array, E>,
    contentType: string,
    contentLength?: number
  ) => Effect.Effect<void, HttpCacheError | E>
}

const readNetrc = (file: string | undefined): ReadonlyArray<NetrcEntry> => {
  if (file === undefined) return []
  try {
    return parseNetrc(fs.readFileSync(file, "utf8"))
  } catch {
    return []
  }
}

/**
 * Node frees a connection for the next request only once a response has
 * ended, and a HEAD response ends only when it is read: the platform does not
 * read it, so the Node message (the platform's `source`) is resumed here.
 * (The platform's internals: if they change, HEADs only cost a connection each again.)
 * Without this every HEAD kept a connection, and the process, alive until
 * the server's keep-alive timeout.
 */
const freeHeadResponse = (res: HttpClientResponse.HttpClientResponse): void => {
  // the platform wraps the Node response (an InterruptibleResponse around it, as `original`)
  const inner: unknown = "original" in res ? res.original : res
  const source: unknown = typeof inner === "object" && inner !== null && "source" in inner ? inner.source : undefined
  if (source instanceof IncomingMessage) source.resume()
}

const describe = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string"
    ? cause.message
    : String(cause)

/** The cause's Node error code (ECONNRESET …), if any, through the platform's wrappers. */
const transportText = (e: unknown): string => {
  const inner = typeof e === "object" && e !== null && "cause" in e ? e.cause : undefined
  return inner !== undefined ? describe(inner) : describe(e)
}

/** Opens the transport of the cache at `baseUrl`; its agent (and connections) close with the scope. */
export const make = (
  baseUrl: string,
  options: HttpTransportOptions = {}
): Effect.Effect<HttpTransport, never, Scope.Scope> =>
  Effect.gen(function*() {
    const base = baseUrl.replace(/\/+$/, "")
    const attempts = Math.max(1, options.downloadAttempts ?? 5)
    const baseDelay = Duration.decode(options.retryBaseDelay ?? "250 millis")
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxConnections ?? 25,
      ...(options.connectTimeout !== undefined && options.connectTimeout > 0
        ? { timeout: options.connectTimeout * 1000 }
        : {})
    }
    const context = yield* Layer.build(
      NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer(agentOptions)))
    )
    const client = yield* Effect.provide(HttpClient.HttpClient, context)
    const netrc = readNetrc(options.netrcFile)
    const host = new URL(base).hostname
    const credentials = netrcFor(netrc, host)

    const urlOf = (file: string) => (/^https?:\/\//.test(file) ? file : `${base}/${file}`)

    const withAuth = (req: HttpClientRequest.HttpClientRequest, url: string) => {
      const r = req.pipe(HttpClientRequest.setHeader("user-agent", `tsnix/${version}`))
      const entry = new URL(url).hostname === host ? credentials : netrcFor(netrc, new URL(url).hostname)
      return entry?.login !== undefined
        ? HttpClientRequest.basicAuth(r, entry.login, entry.password ?? "")
        : r
    }

    const retrying = <A>(_what: string, effect: Effect.Effect<A, HttpCacheError>) =>
      effect.pipe(
        Effect.retry({
          schedule: Schedule.exponential(baseDelay).pipe(
            Schedule.jittered,
            Schedule.intersect(Schedule.recurs(attempts - 1)),
            Schedule.tapInput((e: HttpCacheError) => Effect.logWarning(`${e.message}; retrying`))
          ),
          while: (e) => e.transient
        })
      )

    /** One request; a status of the "ok" or "absent" class is an answer, others fail. */
    const send = (
      method: "GET" | "HEAD" | "PUT",
      url: string,
      build: (r: HttpClientRequest.HttpClientRequest) => HttpClientRequest.HttpClientRequest = (r) => r
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpCacheError> =>
      client.execute(build(withAuth(HttpClientRequest.make(method)(url), url))).pipe(
        Effect.mapError((e) =>
          new HttpCacheError({
            message: `unable to ${method === "PUT" ? "upload" : "download"} '${url}': ${transportText(e)}`,
            url,
            transient: true
          })
        ),
        Effect.flatMap((res) => {
          const cls = classifyStatus(res.status)
          if (cls === "ok" || (cls === "absent" && method !== "GET")) return Effect.succeed(res)
          // the rest of the body is read (and dropped), so the connection can serve the next request
          const drained = method === "HEAD" ? Effect.sync(() => freeHeadResponse(res)) : Effect.ignore(res.arrayBuffer)
          if (cls === "absent") return Effect.as(drained, res)
          return Effect.zipRight(
            drained,
            Effect.fail(
              new HttpCacheError({
                message: `unable to ${method === "PUT" ? "upload" : "download"} '${url}': HTTP error ${res.status}`,
                url,
                status: res.status,
                transient: cls === "transient"
              })
            )
          )
        })
      )

    const exists = (file: string) => {
      const url = urlOf(file)
      return retrying(
        url,
        Effect.map(send("HEAD", url), (res) => {
          freeHeadResponse(res)
          return classifyStatus(res.status) === "ok"
        })
      )
    }

    const bodyError = (url: string) => (e: unknown) =>
      new HttpCacheError({ message: `unable to download '${url}': ${transportText(e)}`, url, transient: true })

    const get = (file: string) => {
      const url = urlOf(file)
      return retrying(
        url,
        Effect.flatMap(send("GET", url), (res) =>
          classifyStatus(res.status) !== "ok"
            ? Effect.succeed(Option.none<Uint8Array>())
            : res.arrayBuffer.pipe(
              Effect.mapError(bodyError(url)),
              Effect.flatMap((buf) => {
                const declared = res.headers["content-length"]
                if (
                  declared !== undefined && res.headers["content-encoding"] === undefined &&
                  Number(declared) !== buf.byteLength
                ) {
                  return Effect.fail(
                    new HttpCacheError({
                      message: `unable to download '${url}': got ${buf.byteLength} of ${declared} bytes`,
                      url,
                      transient: true
                    })
                  )
                }
                return Effect.succeed(Option.some(new Uint8Array(buf)))
              })
            ))
      )
    }

    const getStream = (file: string) => {
      const url = urlOf(file)
      /** The body from byte `offset` on; a break resumes with a Range request while attempts remain. */
      const from = (
        res: HttpClientResponse.HttpClientResponse,
        offset: number,
        attemptsLeft: number
      ): Stream.Stream<Uint8Array, HttpCacheError> => {
        const declared = res.headers["content-length"]
        const encoded = res.headers["content-encoding"] !== undefined
        const total = declared !== undefined && !encoded ? offset + Number(declared) : undefined
        const resumable = res.headers["accept-ranges"] === "bytes" && !encoded
        let got = offset
        const checked = res.stream.pipe(
          Stream.mapError(bodyError(url)),
          Stream.tap((c) => Effect.sync(() => void (got += c.length))),
          Stream.concat(Stream.suspend(() =>
            total !== undefined && got !== total
              ? Stream.fail(
                new HttpCacheError({
                  message: `unable to download '${url}': got ${got} of ${total} bytes`,
                  url,
                  transient: true
                })
              )
              : Stream.empty
          ))
        )
        return checked.pipe(Stream.catchAll((e) => {
          if (!resumable || attemptsLeft <= 0 || total === undefined) return Stream.fail(e)
          return Stream.unwrap(
            Effect.gen(function*() {
              yield* Effect.logWarning(`${e.message}; resuming at byte ${got}`)
              const at = got
              const again = yield* send("GET", url, HttpClientRequest.setHeader("range", `bytes=${at}-`))
              const range = again.headers["content-range"]
              if (again.status !== 206 || range === undefined || !range.startsWith(`bytes ${at}-`)) {
                return yield* new HttpCacheError({
                  message:
                    `unable to download '${url}': the server did not resume at byte ${at} (HTTP ${again.status})`,
                  url,
                  status: again.status,
                  transient: false
                })
              }
              return from(again, at, attemptsLeft - 1)
            })
          )
        }))
      }
      return retrying(
        url,
        Effect.map(
          send("GET", url),
          (res) => classifyStatus(res.status) !== "ok" ? Option.none() : Option.some(from(res, 0, attempts - 1))
        )
      )
    }

    const put = <E = never>(
      file: string,
      body: Uint8Array | Stream.Stream<Uint8Array, E>,
      contentType: string,
      contentLength?: number
    ): Effect.Effect<void, HttpCacheError | E> => {
      const url = urlOf(file)
      // a failure of the body stream is the caller's error, not a transport one
      let bodyFailure: Option.Option<E> = Option.none()
      const once = send("PUT", url, (r) =>
        body instanceof Uint8Array
          ? HttpClientRequest.bodyUint8Array(r, body, contentType)
          : HttpClientRequest.bodyStream(
            r,
            body.pipe(Stream.tapError((e) => Effect.sync(() => void (bodyFailure = Option.some(e))))),
            { contentType, contentLength }
          )).pipe(
          Effect.catchAll((e): Effect.Effect<never, HttpCacheError | E> =>
            Option.isSome(bodyFailure) ? Effect.fail(bodyFailure.value) : Effect.fail(e)
          ),
          Effect.flatMap((res) =>
            classifyStatus(res.status) === "ok"
              ? Effect.void
              : Effect.fail(
                new HttpCacheError({
                  message: `unable to upload '${url}': HTTP error ${res.status}`,
                  url,
                  status: res.status,
                  transient: false
                })
              )
          )
        )
      return body instanceof Uint8Array ? retrying(url, once as Effect.Effect<void, HttpCacheError>) : once
    }

    return { baseUrl: base, urlOf, exists, get, getStream, put }
  })
