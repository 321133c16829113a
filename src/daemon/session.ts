/**
 * One client session of the daemon: the handshake, the client's settings,
 * the tunnel logger (library log lines and activities → STDERR messages), and
 * the loop that reads an op code, runs its handler and answers
 * `STDERR_LAST <result>` or `STDERR_ERROR`.
 *
 * An error while reading an op's arguments (malformed input) or an unknown op
 * gets one STDERR_ERROR and ends the session (the stream cannot be
 * resynchronised); an op that fails after reading its arguments gets one
 * STDERR_ERROR and the session goes on, as with Nix 2.8.
 *
 * @since 0.1.0
 */
import { Cause, Data, Effect, FiberRef, HashMap, HashSet, Logger, LogLevel, Option, Stream } from "effect"
import { nixLevelAnnotation } from "../core/nixLog.js"
import { concatBytes, type Decoder, u64 } from "../core/wire/index.js"
import * as W from "../core/wire/worker/index.js"
import { type Conn, ConnClosedError, ProtocolError } from "./conn.js"
import type { DaemonSettings } from "./settings.js"

/** Who is on the other end. */
export interface Peer {
  readonly uid?: number | undefined
  readonly gid?: number | undefined
  readonly pid?: number | undefined
  readonly user?: string | undefined
}

/** A failure the daemon reports itself (not a store's error): its text goes to the client as is. */
export class DaemonError extends Data.TaggedError("DaemonError")<{ readonly message: string }> {}

/** The state of one session. */
export interface Session {
  readonly conn: Conn
  /** The client's protocol version. */
  readonly version: number
  readonly minor: number
  readonly trusted: boolean
  readonly peer: Peer
  readonly settings: DaemonSettings
  /** The client's SetOptions (defaults until it sends them). */
  options: W.ClientOptions
  /** True between an op's start and its STDERR_LAST: log lines may be sent. */
  canSendStderr: boolean
  /** Sends a log line at a Nix verbosity level (dropped above the client's verbosity). */
  readonly log: (level: number, text: string) => void
  /** Starts an activity; returns its id. */
  readonly startActivity: (type: number, text: string, fields?: ReadonlyArray<W.Field>, level?: number) => bigint
  readonly stopActivity: (id: bigint) => void
  readonly result: (id: bigint, type: number, fields: ReadonlyArray<W.Field>) => void
}

/** What a handler answers after STDERR_LAST: bytes, or a stream of them (NarFromPath). */
export type Reply =
  | Uint8Array
  | { readonly _tag: "Stream"; readonly stream: Stream.Stream<Uint8Array, { readonly message: string }> }

/** An op handler: reads its arguments from the session, does the work, returns the reply. */
export type Handler<R> = (s: Session) => Effect.Effect<Reply, { readonly message: string }, R>

let activityCounter = 0n
const activityBase = BigInt(process.pid) << 32n

/** Makes the session state (the logger writes through `conn` while `canSendStderr`). */
export const makeSession = (
  conn: Conn,
  version: number,
  trusted: boolean,
  peer: Peer,
  settings: DaemonSettings
): Session => {
  const send = (msg: W.StderrMessage) => {
    if (s.canSendStderr) conn.writeNow(W.encodeStderr(s.version, msg))
  }
  const s: Session = {
    conn,
    version,
    minor: W.protocolMinor(version),
    trusted,
    peer,
    settings,
    options: W.defaultClientOptions,
    canSendStderr: false,
    log: (level, text) => {
      if (level <= s.options.verbosity) send({ _tag: "Next", text: `${text}\n` })
    },
    startActivity: (type, text, fields = [], level = W.Verbosity.Info) => {
      const id = activityBase + activityCounter++
      if (level <= s.options.verbosity || s.minor >= 20) {
        send({ _tag: "StartActivity", id, level, type, text, fields, parent: 0n })
      }
      return id
    },
    stopActivity: (id) => send({ _tag: "StopActivity", id }),
    result: (id, type, fields) => send({ _tag: "Result", id, type, fields })
  }
  return s
}

const render = (message: unknown): string => {
  if (Array.isArray(message)) return message.map(render).join(" ")
  if (typeof message === "string") return message
  if (message instanceof Error) return message.message
  return String(message)
}

/** The Nix verbosity of a library log line: its `nixLevel` annotation, else its Effect level. */
const nixVerbosity = (level: LogLevel.LogLevel, nixLevel: unknown): number => {
  if (nixLevel === "error") return W.Verbosity.Error
  if (nixLevel === "info") return W.Verbosity.Info
  if (nixLevel === "talkative") return W.Verbosity.Talkative
  if (nixLevel === "debug") return W.Verbosity.Debug
  if (LogLevel.greaterThanEqual(level, LogLevel.Error)) return W.Verbosity.Error
  if (LogLevel.greaterThanEqual(level, LogLevel.Warning)) return W.Verbosity.Warn
  if (LogLevel.greaterThanEqual(level, LogLevel.Info)) return W.Verbosity.Info
  if (LogLevel.greaterThanEqual(level, LogLevel.Debug)) return W.Verbosity.Debug
  return W.Verbosity.Vomit
}

/** A logger that sends library log lines to the session's client as STDERR_NEXT. */
const tunnelLogger = (s: Session) =>
  Logger.make(({ annotations, logLevel, message }) => {
    const nixLevel = Option.getOrUndefined(HashMap.get(annotations, nixLevelAnnotation))
    const level = nixVerbosity(logLevel, nixLevel)
    const text = render(message)
    s.log(level, nixLevel === undefined && level === W.Verbosity.Warn ? `warning: ${text}` : text)
  })

/** Runs `effect` with its log lines going to the session's client (and nowhere else). */
export const withTunnelLogger = <A, E, R>(s: Session, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.locally(FiberRef.currentLoggers, HashSet.make(tunnelLogger(s))),
    Effect.locally(FiberRef.currentMinimumLogLevel, LogLevel.All)
  )

/** Sends an error (structured from minor 26). */
export const sendError = (s: Session, message: string) => s.conn.write(W.encodeError(s.version, message))

const messageOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" && e.message !== ""
    ? e.message
    : typeof e === "object" && e !== null && "_tag" in e
    ? String(e._tag)
    : String(e)

/** How an op ended: the session goes on, or must end (after the error was sent). */
type OpOutcome = "continue" | "close"

/** Runs one op: its handler with the tunnel logger, then STDERR_LAST and the reply, or STDERR_ERROR. */
export const runOp = <R>(s: Session, code: bigint, handlers: ReadonlyMap<number, Handler<R>>) =>
  Effect.gen(function*() {
    const handler = code <= 0xffffn ? handlers.get(Number(code)) : undefined
    if (handler === undefined) {
      yield* sendError(s, `invalid operation ${code}`)
      return "close" as OpOutcome
    }
    s.canSendStderr = true
    const exit = yield* Effect.exit(withTunnelLogger(s, handler(s)))
    s.canSendStderr = false
    if (exit._tag === "Failure") {
      if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
      const failure = Cause.failureOption(exit.cause)
      const e: unknown = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
      if (e instanceof ConnClosedError) return "close" as OpOutcome
      yield* sendError(s, messageOf(e))
      // Malformed arguments (or a defect): the stream cannot be trusted any more.
      return (e instanceof ProtocolError || Option.isNone(failure) ? "close" : "continue") as OpOutcome
    }
    const reply = exit.value
    if (reply instanceof Uint8Array) {
      // One write for STDERR_LAST and the reply.
      yield* s.conn.write(concatBytes([W.STDERR_LAST, reply]))
      return "continue" as OpOutcome
    }
    yield* s.conn.write(W.STDERR_LAST)
    // A stream after STDERR_LAST (NarFromPath): an error in the middle cannot be reported; close.
    const streamed = yield* Effect.either(Stream.runForEach(reply.stream, (chunk) => s.conn.write(chunk)))
    return (streamed._tag === "Left" ? "close" : "continue") as OpOutcome
  })

/** Thrown by a {@link FastOps} decoder for an op it leaves to the handlers. */
export class NotFast extends Error {}

/** The one {@link NotFast}. */
export const notFast = new NotFast("not a fast op")

const isNotFast = (e: unknown): e is NotFast => e === notFast

/**
 * Ops answered synchronously from bytes already received, before the handlers: a decoder of the
 * op code and its arguments that returns the reply after STDERR_LAST, or throws {@link notFast}
 * (the op goes to its handler, nothing consumed). It must answer exactly as the op's handler
 * would (read-only queries that log nothing).
 */
export type FastOps = Decoder<Uint8Array>

/** Reads ops until the client closes (or an op ends the session). */
export const serveOps = <R>(s: Session, handlers: ReadonlyMap<number, Handler<R>>, fast?: FastOps) =>
  Effect.gen(function*() {
    for (;;) {
      if (fast !== undefined) {
        const why = yield* s.conn.answerWhile(fast, isNotFast)
        if (why === "end") return
        if (why === "full") {
          yield* s.conn.drained
          continue
        }
        // An op for the handlers, or a malformed one (which fails there) goes on below.
      } else {
        const next = yield* s.conn.source.pull
        if (Option.isNone(next)) return
        s.conn.source.unread(next.value)
      }
      const code = yield* s.conn.read(u64)
      const outcome = yield* runOp(s, code, handlers)
      if (outcome === "close") return
    }
  }).pipe(
    Effect.catchTag("ConnClosedError", () => Effect.void),
    Effect.catchTag("DaemonProtocolError", () => Effect.void)
  )

/** Why a handshake ended the connection. */
export type HandshakeRefusal = "protocol mismatch" | "the Nix client version is too old" | "closed"

/**
 * The daemon's side of the handshake up to (not including) the final
 * STDERR_LAST: magic, version, the client's fields, the Nix version string.
 * Returns the client's version, or why the connection is refused (Nix 2.8
 * closes without a word in both cases).
 */
export const handshake = (conn: Conn, nixVersion: string) =>
  Effect.gen(function*() {
    const magic = yield* Effect.either(conn.read(W.clientMagic))
    if (magic._tag === "Left") return { _tag: "Refused" as const, reason: "protocol mismatch" as HandshakeRefusal }
    yield* conn.write(W.encodeServerHello(W.PROTOCOL_VERSION))
    const hello = yield* conn.read(W.clientHello)
    const bad = W.checkClientVersion(hello.version)
    if (bad !== undefined) return { _tag: "Refused" as const, reason: bad as HandshakeRefusal }
    yield* conn.write(W.encodeDaemonNixVersion(hello.version, nixVersion))
    return { _tag: "Accepted" as const, version: hello.version }
  }).pipe(
    Effect.catchAll(() => Effect.succeed({ _tag: "Refused" as const, reason: "closed" as HandshakeRefusal }))
  )
