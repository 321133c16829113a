/**
 * The daemon client's connection pool (Nix's `max-connections`): each
 * operation takes a connection, runs, and gives it back. A connection whose
 * operation did not end cleanly (interrupted, broken, abandoned mid-stream)
 * is dropped and a new one opened on demand. The daemon keeps temporary
 * roots per connection: the client remembers every root it added and adds
 * them again on each new connection, so a dropped connection loses none.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Exit, FiberRef, Option, Pool, Scope } from "effect"
import type { Decoder } from "../../core/wire/decode.js"
import { encodePadded, encodeU64 } from "../../core/wire/encode.js"
import { Op } from "../../core/wire/worker/ops.js"
import { type ClientOptions, encodeClientOptions } from "../../core/wire/worker/options.js"
import { bool } from "../../core/wire/decode.js"
import { connectUnix, type ConnectionIoError, spawnConnection } from "../../io/byteConnection.js"
import { RemoteStoreError, StoreConnectionError } from "../../services/errors/remote.js"
import type { DaemonTransport } from "./spec.js"
import { type DaemonConnection, open, type StderrHandlers } from "./connection.js"

/** The pooled connections of one daemon store. */
export interface DaemonClient {
  /** The store's URI (in messages). */
  readonly uri: string
  /**
   * Runs `f` on a connection. A failure other than the daemon's own error
   * (RemoteStoreError), or an interruption, drops the connection.
   */
  readonly withConnection: <A, E>(
    f: (conn: DaemonConnection) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | StoreConnectionError | RemoteStoreError>
  /** Like {@link withConnection}, keeping the connection for the caller's scope (a stream). */
  readonly connection: Effect.Effect<
    { readonly conn: DaemonConnection; readonly invalidate: Effect.Effect<void> },
    StoreConnectionError | RemoteStoreError,
    Scope.Scope
  >
  /** One operation: the op code and arguments, the STDERR messages, then the reply. */
  readonly call: <A>(
    op: number,
    args: ReadonlyArray<Uint8Array>,
    reply: Decoder<A>,
    handlers?: StderrHandlers
  ) => Effect.Effect<A, StoreConnectionError | RemoteStoreError>
  /** AddTempRoot (11), remembered for connections opened later (outside a session). */
  readonly addTempRoot: (path: string) => Effect.Effect<void, StoreConnectionError | RemoteStoreError>
  /**
   * A temp-roots session until the scope closes: a connection of its own, on
   * which every operation of this fiber (and the fibers it forks) runs, so
   * the daemon's temporary roots for what they add or root go when it closes.
   */
  readonly session: Effect.Effect<void, never, Scope.Scope>
}

/** A session's dedicated connection (one operation at a time). */
interface Session {
  readonly conn: Effect.Effect<DaemonConnection, StoreConnectionError | RemoteStoreError>
  readonly lock: Effect.Semaphore
  broken: boolean
}

/** How to open a client. */
export interface DaemonClientOptions {
  readonly uri: string
  readonly transport: DaemonTransport
  readonly maxConnections: number
  /** SetOptions sent on every Unix-socket connection (ssh-ng sends none, as Nix). */
  readonly clientOptions: ClientOptions
}

/** The shell command Nix's SSHStore runs: `remote-program --stdio [--store REMOTE]`. */
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** The byte connection of a transport, within the scope. */
export const openTransport = (transport: DaemonTransport) => {
  if (transport._tag === "unix") return connectUnix(transport.socketPath)
  const command = `${transport.remoteProgram} --stdio` +
    (transport.remoteStore === undefined || transport.remoteStore === ""
      ? ""
      : ` --store ${shellQuote(transport.remoteStore)}`)
  if (transport.host === "localhost") return spawnConnection({ command: "bash", args: ["-c", command] })
  const args = [transport.host, "-x", "-a"]
  const sshOpts = (process.env["NIX_SSHOPTS"] ?? "").split(/\s+/).filter((s) => s !== "")
  args.push(...sshOpts)
  if (transport.sshKey !== undefined && transport.sshKey !== "") args.push("-i", transport.sshKey)
  if (transport.compress) args.push("-C")
  args.push(command)
  return spawnConnection({ command: "ssh", args })
}

/** Opens the pool (connections are opened on first use), closed with the scope. */
export const make = (options: DaemonClientOptions): Effect.Effect<DaemonClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { uri } = options
    const tempRoots = new Set<string>()
    const openError = (e: ConnectionIoError | StoreConnectionError | RemoteStoreError) =>
      new StoreConnectionError({
        store: uri,
        message: `cannot open connection to remote store '${uri}': ${e.message}`
      })
    const acquire = open(
      uri,
      openTransport(options.transport),
      (conn) =>
        Effect.gen(function*() {
          if (options.transport._tag === "unix") {
            yield* conn.send(encodeU64(Op.SetOptions), encodeClientOptions(conn.version, options.clientOptions))
            yield* conn.processStderr()
          }
          for (const p of tempRoots) {
            yield* conn.send(encodeU64(Op.AddTempRoot), encodePadded(p))
            yield* conn.processStderr()
            yield* conn.read(bool)
          }
        })
    ).pipe(Effect.mapError(openError))
    const pool = yield* Pool.makeWithTTL({
      acquire,
      min: 0,
      max: options.maxConnections,
      timeToLive: Duration.infinity
    })
    const sessionRef = yield* FiberRef.make<Option.Option<Session>>(Option.none())
    const isClean = <A, E>(exit: Exit.Exit<A, E>) =>
      Exit.isSuccess(exit) ||
      (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error instanceof RemoteStoreError)
    const brokenSession = new StoreConnectionError({
      store: uri,
      message: "the connection of this temp-roots session broke"
    })
    const inSession = <A, E>(s: Session, f: (conn: DaemonConnection) => Effect.Effect<A, E>) =>
      s.lock.withPermits(1)(
        Effect.suspend(() =>
          s.broken ?
            Effect.fail(brokenSession) :
            Effect.flatMap(s.conn, (conn) =>
              Effect.onExit(f(conn), (exit) =>
                Effect.sync(() => {
                  if (!isClean(exit)) s.broken = true
                })))
        )
      )
    const withConnection = <A, E>(f: (conn: DaemonConnection) => Effect.Effect<A, E>) =>
      Effect.flatMap(FiberRef.get(sessionRef), (session) =>
        Option.isSome(session)
          ? inSession(session.value, f)
          : Effect.scoped(Effect.flatMap(Pool.get(pool), (conn) =>
            Effect.onExit(f(conn), (exit) =>
              isClean(exit) ? Effect.void : Pool.invalidate(pool, conn)))))
    const connection = Effect.flatMap(FiberRef.get(sessionRef), (session) => {
      if (Option.isNone(session)) {
        return Effect.map(
          Pool.get(pool),
          (conn) => ({ conn, invalidate: Effect.scoped(Pool.invalidate(pool, conn)) })
        )
      }
      const s = session.value
      return Effect.gen(function*() {
        yield* Effect.acquireRelease(s.lock.take(1), () => s.lock.release(1))
        if (s.broken) return yield* brokenSession
        const conn = yield* s.conn
        return { conn, invalidate: Effect.sync(() => void (s.broken = true)) }
      })
    })
    const call = <A>(op: number, args: ReadonlyArray<Uint8Array>, reply: Decoder<A>, handlers?: StderrHandlers) =>
      withConnection((conn) =>
        Effect.gen(function*() {
          yield* conn.send(encodeU64(op), ...args)
          yield* conn.processStderr(handlers)
          return yield* conn.read(reply)
        })
      )
    const addTempRoot = (p: string) =>
      Effect.flatMap(
        FiberRef.get(sessionRef),
        (session) =>
          Effect.asVoid(call(Op.AddTempRoot, [encodePadded(p)], bool)).pipe(
            Effect.tap(() =>
              Effect.sync(() => {
                if (Option.isNone(session)) tempRoots.add(p)
              })
            )
          )
      )
    const openSession = Effect.gen(function*() {
      const scope = yield* Effect.scope
      // Opened on first use, closed with the session's scope.
      const conn = yield* Effect.cached(Effect.provideService(
        open(uri, openTransport(options.transport), () => Effect.void).pipe(
          Effect.mapError(openError),
          Effect.tap((c) =>
            options.transport._tag === "unix"
              ? Effect.zipRight(
                c.send(encodeU64(Op.SetOptions), encodeClientOptions(c.version, options.clientOptions)),
                c.processStderr()
              )
              : Effect.void
          )
        ),
        Scope.Scope,
        scope
      ))
      const session: Session = { conn, lock: yield* Effect.makeSemaphore(1), broken: false }
      yield* Effect.locallyScoped(sessionRef, Option.some(session))
    })
    return { uri, withConnection, connection, call, addTempRoot, session: openSession }
  })
