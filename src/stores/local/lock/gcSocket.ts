/**
 * Nix 2.8's "GC roots socket" (`<state>/gc-socket/socket`): while the
 * collector holds `gc.lock`, a process adding a temporary root connects, sends
 * the store path followed by `\n` and waits for the byte `1`. Both sides are
 * here: the client (`addTempRoot`) and the server (the collector).
 *
 * @since 0.1.0
 */
import { Effect, Runtime } from "effect"
import type { Scope } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { LockIOError } from "../../../services/Lock.js"
import { errnoCode, mkdirp, unlinkQuiet } from "./flock.js"

/** Codes meaning "no collector is listening (any more)": try again later. */
const retryable = new Set(["ENOENT", "ECONNREFUSED", "EPIPE", "ECONNRESET"])

/**
 * Sends `storePath` to the collector listening on `socketPath`. Succeeds with
 * `true` once acknowledged, `false` when no collector answered (the socket is
 * missing, refused the connection, or closed before acknowledging): the caller
 * then retries its whole protocol. Interruption closes the connection.
 */
export const sendRootToCollector = (socketPath: string, storePath: string): Effect.Effect<boolean, LockIOError> =>
  sendRootsToCollector(socketPath, [storePath])

/**
 * Sends every path of `storePaths` to the collector listening on `socketPath`
 * over one connection (one line each, as Nix's clients send them) and waits
 * for one acknowledgement per path. `true` once all are acknowledged, `false`
 * as {@link sendRootToCollector}.
 */
export const sendRootsToCollector = (
  socketPath: string,
  storePaths: ReadonlyArray<string>
): Effect.Effect<boolean, LockIOError> =>
  storePaths.length === 0 ? Effect.succeed(true) : Effect.async<boolean, LockIOError>((resume) => {
    let done = false
    let acks = 0
    const finish = (r: Effect.Effect<boolean, LockIOError>) => {
      if (done) return
      done = true
      socket.destroy()
      resume(r)
    }
    const socket = net.createConnection({ path: socketPath })
    socket.on("connect", () => socket.write(storePaths.map((p) => p + "\n").join("")))
    socket.on("data", (chunk: Buffer) => {
      for (const byte of chunk) {
        if (byte !== 0x31) {
          return finish(
            Effect.fail(new LockIOError({ path: socketPath, operation: "GC socket acknowledgement", cause: byte }))
          )
        }
        if (++acks === storePaths.length) return finish(Effect.succeed(true))
      }
    })
    socket.on("end", () => finish(Effect.succeed(false)))
    socket.on("close", () => finish(Effect.succeed(false)))
    socket.on("error", (err) => {
      const code = errnoCode(err)
      finish(
        code !== undefined && retryable.has(code)
          ? Effect.succeed(false)
          : Effect.fail(
            new LockIOError(
              code === undefined
                ? { path: socketPath, operation: "GC socket", cause: err }
                : { path: socketPath, operation: "GC socket", code, cause: err }
            )
          )
      )
    })
    return Effect.sync(() => {
      done = true
      socket.destroy()
    })
  })

/**
 * The collector's side of the GC roots socket: listens on `socketPath`
 * (created mode 0666 in a fresh directory, a stale socket file replaced),
 * and for each line received (a store path) runs `onRoot` then answers `1`,
 * as Nix 2.8's collector does. The server stops, and its socket file is
 * removed, when the scope closes. Run it while holding the GC lock exclusively.
 */
export const serveGcRoots = <R>(
  socketPath: string,
  onRoot: (storePath: string) => Effect.Effect<void, never, R>
): Effect.Effect<void, LockIOError, R | Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<R>()
    const run = Runtime.runPromise(runtime)
    yield* mkdirp(path.dirname(socketPath))
    yield* unlinkQuiet(socketPath)
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      let buffered = ""
      let chain: Promise<void> = Promise.resolve()
      socket.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8")
        let nl: number
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl)
          buffered = buffered.slice(nl + 1)
          chain = chain.then(() => run(onRoot(line))).then(() => {
            if (!socket.destroyed) socket.write("1")
          }, () => {
            socket.destroy()
          })
        }
      })
      socket.on("error", () => socket.destroy())
      socket.on("close", () => sockets.delete(socket))
    })
    yield* Effect.acquireRelease(
      Effect.async<void, LockIOError>((resume) => {
        server.once("error", (err) =>
          resume(Effect.fail(new LockIOError({ path: socketPath, operation: "listen", cause: err }))))
        server.listen(socketPath, () => {
          fs.chmod(socketPath, 0o666, () =>
            resume(Effect.void))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          for (const s of sockets) s.destroy()
          server.close(() => resume(Effect.void))
        }).pipe(Effect.zipRight(unlinkQuiet(socketPath)))
    )
  })
