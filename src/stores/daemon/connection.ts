/**
 * One connection to a daemon, as Nix 2.8's RemoteStore speaks the worker
 * protocol: the handshake (client 1.34; features gated on the negotiated
 * minor), then operations, each answered by STDERR messages ending in
 * STDERR_LAST (the result follows) or STDERR_ERROR. Log lines and activities
 * are logged at their Nix level; STDERR_READ / STDERR_WRITE go to the
 * operation's source and sink.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import type { Scope } from "effect"
import { nixLog, type NixLevel } from "../../core/nixLog.js"
import { type Decoder, isNeedInput, WireReader } from "../../core/wire/decode.js"
import { concatBytes, encodePadded } from "../../core/wire/encode.js"
import { isWireError } from "../../core/wire/errors.js"
import { isWorkerValueError } from "../../core/wire/worker/errors.js"
import { ResultType, type StderrMessage, stderrMessage } from "../../core/wire/worker/stderr.js"
import {
  daemonNixVersion,
  encodeClientHello,
  encodeClientMagic,
  MIN_PROTOCOL_VERSION,
  negotiate,
  PROTOCOL_VERSION,
  protocolMajor,
  serverHello
} from "../../core/wire/worker/version.js"
import type { ByteConnection, ConnectionIoError } from "../../io/byteConnection.js"
import type { ByteSource } from "../../io/source.js"
import { RemoteStoreError, StoreConnectionError } from "../../services/errors/remote.js"

/** What an operation does with the daemon's STDERR_WRITE data and STDERR_READ requests. */
export interface StderrHandlers {
  /** Data the daemon writes to the client's sink (ExportPath). */
  readonly sink?: ((data: Uint8Array) => Effect.Effect<void, StoreConnectionError>) | undefined
  /** Up to `n` bytes for the daemon (empty: end of input). */
  readonly source?: ((n: number) => Effect.Effect<Uint8Array, StoreConnectionError>) | undefined
  /** Sees each log line (without colours and trailing newline) before it is logged. */
  readonly onLog?: ((line: string) => void) | undefined
}

/** An open, handshaken connection to a daemon. */
export interface DaemonConnection {
  /** The version both sides use (the lower of theirs and ours). */
  readonly version: number
  /** The daemon's Nix version (sent by daemons of minor ≥ 33). */
  readonly nixVersion: string | undefined
  /** Sends bytes (the parts are joined into one write). */
  readonly send: (...parts: ReadonlyArray<Uint8Array>) => Effect.Effect<void, StoreConnectionError>
  /** Reads one value. */
  readonly read: <A>(decoder: Decoder<A>) => Effect.Effect<A, StoreConnectionError>
  /** Reads STDERR messages up to STDERR_LAST; STDERR_ERROR is a RemoteStoreError. */
  readonly processStderr: (
    handlers?: StderrHandlers
  ) => Effect.Effect<void, RemoteStoreError | StoreConnectionError>
  /** The connection's bytes as a source (for a raw NAR): what is not consumed must be pushed back. */
  readonly source: ByteSource<StoreConnectionError>
  /** Closes our sending side. */
  readonly endWrite: Effect.Effect<void>
}

// eslint-disable-next-line no-control-regex -- terminal escapes start with ESC
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g

/** A daemon's message without its terminal colour codes. */
export const stripAnsi = (s: string): string => s.replace(ANSI, "")

const levelOf = (level: number): NixLevel =>
  level <= 0 ? "error" : level <= 3 ? "info" : level === 4 ? "talkative" : "debug"

/** Wraps a byte connection's reading and writing with the protocol's error for store `uri`. */
const makeWire = (uri: string, conn: ByteConnection) => {
  const reader = new WireReader()
  const pending: Array<Uint8Array> = []
  const ioError = (e: ConnectionIoError) => new StoreConnectionError({ store: uri, message: e.message })
  const pullChunk: Effect.Effect<Option.Option<Uint8Array>, StoreConnectionError> = Effect.suspend(() => {
    const p = pending.pop()
    if (p !== undefined) return Effect.succeed(Option.some(p))
    return Effect.mapError(conn.read, ioError)
  })
  const read = <A>(decoder: Decoder<A>): Effect.Effect<A, StoreConnectionError> =>
    Effect.suspend(function loop(): Effect.Effect<A, StoreConnectionError> {
      // Bytes pushed back by a NAR reader come first.
      for (let p = pending.pop(); p !== undefined; p = pending.pop()) reader.feed(p)
      const r = reader.read(decoder, isWorkerValueError)
      if (isNeedInput(r)) {
        return Effect.flatMap(pullChunk, (chunk) => {
          if (Option.isNone(chunk)) reader.end()
          else reader.feed(chunk.value)
          return loop()
        })
      }
      if (isWireError(r)) {
        const message = r._tag === "WireTruncatedError"
          ? "unexpected end-of-file from the daemon"
          : `bad data from the daemon: ${r.message}`
        return Effect.fail(new StoreConnectionError({ store: uri, message }))
      }
      if (isWorkerValueError(r)) {
        return Effect.fail(new StoreConnectionError({ store: uri, message: `bad data from the daemon: ${r.message}` }))
      }
      return Effect.succeed(r as A)
    })
  const source: ByteSource<StoreConnectionError> = {
    pull: Effect.suspend(() => {
      const rest = reader.takeRemainder()
      for (let i = rest.length - 1; i >= 0; i--) pending.push(rest[i] as Uint8Array)
      return pullChunk
    }),
    unread: (bytes) => {
      if (bytes.length > 0) pending.push(bytes)
    }
  }
  const send = (...parts: ReadonlyArray<Uint8Array>): Effect.Effect<void, StoreConnectionError> =>
    Effect.mapError(conn.write(parts.length === 1 ? parts[0] as Uint8Array : concatBytes(parts)), ioError)
  return { read, send, source }
}

/**
 * The handshake of a 2.8 client on `conn`: magic, versions (a daemon older
 * than 1.10 or of another major is refused), no CPU affinity, no
 * reserveSpace, the daemon's version string, then its STDERR messages up to
 * STDERR_LAST.
 */
export const handshake = (
  uri: string,
  conn: ByteConnection
): Effect.Effect<DaemonConnection, RemoteStoreError | StoreConnectionError> =>
  Effect.gen(function*() {
    const wire = makeWire(uri, conn)
    yield* wire.send(encodeClientMagic())
    const daemonVersion = yield* wire.read(serverHello).pipe(
      Effect.mapError((e) =>
        e.message.includes("protocol mismatch")
          ? new StoreConnectionError({ store: uri, message: "protocol mismatch" })
          : e
      )
    )
    if (protocolMajor(daemonVersion) !== protocolMajor(PROTOCOL_VERSION)) {
      return yield* new StoreConnectionError({ store: uri, message: "Nix daemon protocol version not supported" })
    }
    if (daemonVersion < MIN_PROTOCOL_VERSION) {
      return yield* new StoreConnectionError({ store: uri, message: "the Nix daemon version is too old" })
    }
    yield* wire.send(encodeClientHello({ version: PROTOCOL_VERSION }, daemonVersion))
    const version = negotiate(daemonVersion, PROTOCOL_VERSION)
    const nixVersion = yield* wire.read(daemonNixVersion(daemonVersion))
    const stderr = stderrMessage(version)
    const handle = (msg: StderrMessage, handlers: StderrHandlers): Effect.Effect<
      boolean,
      RemoteStoreError | StoreConnectionError
    > => {
      switch (msg._tag) {
        case "Last":
          return Effect.succeed(true)
        case "Error":
          return Effect.fail(
            new RemoteStoreError({
              store: uri,
              message: stripAnsi(msg.message).replace(/^error: /, ""),
              status: msg.status
            })
          )
        case "Next": {
          const line = stripAnsi(msg.text).replace(/\n$/, "")
          handlers.onLog?.(line)
          return Effect.as(nixLog("info", line), false)
        }
        case "StartActivity":
          return msg.text === ""
            ? Effect.succeed(false)
            // As Nix's simple logger prints an activity: its text and "...".
            : Effect.as(nixLog(levelOf(msg.level), `${stripAnsi(msg.text)}...`), false)
        case "StopActivity":
          return Effect.succeed(false)
        case "Result":
          if (
            (msg.type === ResultType.BuildLogLine || msg.type === ResultType.PostBuildLogLine) &&
            typeof msg.fields[0] === "string"
          ) {
            return Effect.as(nixLog("info", msg.fields[0]), false)
          }
          return Effect.succeed(false)
        case "Write":
          if (handlers.sink === undefined) {
            return Effect.fail(new StoreConnectionError({ store: uri, message: "no sink" }))
          }
          return Effect.as(handlers.sink(msg.data), false)
        case "Read":
          if (handlers.source === undefined) {
            return Effect.fail(new StoreConnectionError({ store: uri, message: "no source" }))
          }
          return Effect.flatMap(handlers.source(msg.count), (data) =>
            data.length === 0
              ? Effect.fail(
                new StoreConnectionError({ store: uri, message: "the daemon read past the end of the data" })
              )
              : Effect.as(wire.send(encodePadded(data)), false))
      }
    }
    const processStderr = (handlers: StderrHandlers = {}) =>
      Effect.suspend(function loop(): Effect.Effect<void, RemoteStoreError | StoreConnectionError> {
        return Effect.flatMap(
          wire.read(stderr),
          (msg) => Effect.flatMap(handle(msg, handlers), (last) => last ? Effect.void : loop())
        )
      })
    yield* processStderr()
    return {
      version,
      nixVersion,
      send: wire.send,
      read: wire.read,
      processStderr,
      source: wire.source,
      endWrite: conn.endWrite
    }
  })

/** Opens a connection within the scope: the transport, then the handshake. */
export const open = <E>(
  uri: string,
  transport: Effect.Effect<ByteConnection, E, Scope.Scope>,
  afterHandshake: (conn: DaemonConnection) => Effect.Effect<void, RemoteStoreError | StoreConnectionError>
): Effect.Effect<DaemonConnection, E | RemoteStoreError | StoreConnectionError, Scope.Scope> =>
  Effect.gen(function*() {
    const bytes = yield* transport
    const conn = yield* handshake(uri, bytes)
    yield* afterHandshake(conn)
    return conn
  })
