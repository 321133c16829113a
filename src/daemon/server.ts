/**
 * `tsnix daemon`: serves the Store of the environment over the worker
 * protocol, on a Unix socket (many connections, each a scoped fiber) or on
 * stdin/stdout (`--stdio`: one connection, always trusted).
 *
 * @since 0.1.0
 */
import { Data, Effect, FiberSet, Option } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import type { Readable, Writable } from "node:stream"
import * as W from "../core/wire/worker/index.js"
import { Store } from "../services/Store.js"
import { makeConn } from "./conn.js"
import { makeFastOps, makeHandlers } from "./ops.js"
import { peerCred } from "./peer.js"
import { handshake, makeSession, type Peer, serveOps } from "./session.js"
import type { DaemonSettings } from "./settings.js"
import { lookupUser, matchUser } from "./users.js"

/** The Nix version the daemon announces to clients of minor ≥ 33 (`nix store ping` prints it). */
export const DAEMON_NIX_VERSION = "2.8.0"

/** How a connection's client is treated. */
export type Admission =
  | { readonly _tag: "Trusted" }
  | { readonly _tag: "Untrusted" }
  | { readonly _tag: "Rejected"; readonly reason: string }

/** Nix 2.8's decision for a peer: trusted-users, then allowed-users (or the build users' group). */
export const admit = (settings: DaemonSettings, peer: Peer): Admission => {
  if (peer.uid === undefined || peer.gid === undefined) {
    return settings.allowedUsers.includes("*") && !settings.trustedUsers.includes("*")
      ? { _tag: "Untrusted" }
      : settings.trustedUsers.includes("*")
      ? { _tag: "Trusted" }
      : { _tag: "Rejected", reason: "the daemon cannot tell who you are" }
  }
  const user = lookupUser(peer.uid, peer.gid)
  const label = user.name ?? String(peer.uid)
  if (matchUser(user, settings.trustedUsers)) return { _tag: "Trusted" }
  if (
    matchUser(user, settings.allowedUsers) ||
    (settings.buildUsersGroup !== "" && user.primaryGroup === settings.buildUsersGroup)
  ) return { _tag: "Untrusted" }
  return { _tag: "Rejected", reason: `user '${label}' is not allowed to connect to the Nix daemon` }
}

/** Serves one connection over `readable`/`writable` until it ends; never fails. */
export const serveConnection = (
  readable: Readable,
  writable: Writable,
  peer: Peer,
  admission: Admission,
  settings: DaemonSettings
) =>
  Effect.scoped(Effect.gen(function*() {
    const store = yield* Store
    const conn = yield* makeConn(readable, writable)
    const hs = yield* handshake(conn, DAEMON_NIX_VERSION)
    if (hs._tag === "Refused") return
    if (admission._tag === "Rejected") {
      // Nix closes silently; tsnix says why first.
      yield* Effect.ignore(conn.write(W.encodeError(hs.version, admission.reason)))
      return
    }
    const session = makeSession(conn, hs.version, admission._tag === "Trusted", peer, settings)
    // The connection's temporary roots live in its own file, removed when it ends.
    yield* store.tempRootSession
    yield* conn.write(W.STDERR_LAST)
    // A client that hangs up interrupts what it asked for (as Nix's MonitorFdHup does).
    const fast = yield* makeFastOps(store.storeDir)
    yield* Effect.raceFirst(serveOps(session, makeHandlers(store.storeDir), fast?.(session)), conn.hangup)
  })).pipe(Effect.catchAllCause(() => Effect.void))

/** Serves one trusted connection on stdin/stdout (`--stdio`). */
export const serveStdio = (settings: DaemonSettings) =>
  serveConnection(process.stdin, process.stdout, {}, { _tag: "Trusted" }, settings)

/** The socket could not be set up. */
export class DaemonListenError
  extends Data.TaggedError("DaemonListenError")<{ readonly where: string; readonly cause: unknown }>
{
  override get message(): string {
    return `cannot listen on '${this.where}': ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** Where to listen: a socket path, or an inherited descriptor (systemd socket activation). */
export type Listen = { readonly _tag: "Path"; readonly path: string } | { readonly _tag: "Fd"; readonly fd: number }

/** The descriptor systemd passed (LISTEN_FDS=1 for this pid), if any. */
export const socketActivation = (env: NodeJS.ProcessEnv = process.env): Option.Option<number> =>
  env["LISTEN_FDS"] === "1" && env["LISTEN_PID"] === String(process.pid) ? Option.some(3) : Option.none()

/**
 * Listens and serves until interrupted: each connection runs in its own fiber
 * (interrupted, and so cleaned up, when the server stops). `onListening` is
 * called once the socket accepts connections.
 */
export const serveSocket = (listen: Listen, settings: DaemonSettings, onListening?: () => void) =>
  Effect.scoped(Effect.gen(function*() {
    const fibers = yield* FiberSet.make()
    const run = yield* FiberSet.runtime(fibers)<Store>()
    const server = net.createServer({ allowHalfOpen: false, pauseOnConnect: true }, (socket) => {
      const cred = peerCred(socket)
      const peer: Peer = cred === undefined ? {} : { ...cred }
      const admission = admit(settings, peer)
      socket.resume()
      run(serveConnection(socket, socket, peer, admission, settings))
    })
    yield* Effect.acquireRelease(
      Effect.async<void, DaemonListenError>((resume) => {
        const where = listen._tag === "Fd" ? `fd ${listen.fd}` : listen.path
        server.once("error", (cause) => resume(Effect.fail(new DaemonListenError({ where, cause }))))
        if (listen._tag === "Fd") {
          server.listen({ fd: listen.fd }, () => resume(Effect.void))
          return
        }
        try {
          fs.mkdirSync(path.dirname(listen.path), { recursive: true })
          fs.rmSync(listen.path, { force: true })
        } catch (cause) {
          resume(Effect.fail(new DaemonListenError({ where, cause })))
          return
        }
        server.listen(listen.path, () => {
          fs.chmodSync(listen.path, 0o666)
          resume(Effect.void)
        })
      }),
      // Stop accepting; the connections' fibers are interrupted by the FiberSet.
      () => Effect.sync(() => server.close())
    )
    onListening?.()
    return yield* Effect.never
  }))
