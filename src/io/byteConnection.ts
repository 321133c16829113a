/**
 * A duplex byte connection (no protocol semantics): a Unix socket, or a child
 * process's stdin/stdout. Reading is pull-based with bounded buffering: when
 * more than {@link HIGH_WATER} bytes are waiting to be read, the underlying
 * stream is paused until the reader catches up, so a peer that sends a large
 * NAR faster than it is consumed never fills memory. Writing waits for
 * `drain` when the kernel buffer is full. Everything is released with the
 * connection's scope.
 *
 * @since 0.1.0
 */
import { Data, Effect, Option } from "effect"
import type { Scope } from "effect"
import * as childProcess from "node:child_process"
import * as net from "node:net"
import type { Readable, Writable } from "node:stream"
import { errnoCode, sysErrorText } from "../core/sysError.js"

/** Bytes buffered from the peer before the stream is paused. */
export const HIGH_WATER = 1 << 20

/** Reading from or writing to the connection failed (or opening it). */
export class ConnectionIoError extends Data.TaggedError("ConnectionIoError")<{
  /** What was being done: `connecting to socket at '…'`, `reading from the connection`… */
  readonly operation: string
  readonly cause: unknown
}> {
  override get message() {
    return `${this.operation}: ${sysErrorText(this.cause)}`
  }
}

/** A duplex byte connection. */
export interface ByteConnection {
  /** The next chunk from the peer, or None once it closed its side. */
  readonly read: Effect.Effect<Option.Option<Uint8Array>, ConnectionIoError>
  /** Sends bytes (waits while the peer does not read). */
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, ConnectionIoError>
  /** Closes our sending side (the peer reads end of input). */
  readonly endWrite: Effect.Effect<void>
  /** A short description for messages (`unix socket '/x'`, `process 'ssh host'`). */
  readonly description: string
}

/** A {@link ByteConnection} over a readable and a writable stream (not closed here). */
export const fromStreams = (readable: Readable, writable: Writable, description: string): ByteConnection => {
  const queue: Array<Uint8Array> = []
  let queued = 0
  let ended = false
  let failure: unknown = undefined
  let writeFailure: unknown = undefined
  let waiter: (() => void) | undefined = undefined
  const wake = () => {
    const w = waiter
    waiter = undefined
    if (w !== undefined) w()
  }
  readable.on("data", (chunk: Buffer) => {
    queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    queued += chunk.byteLength
    if (queued > HIGH_WATER) readable.pause()
    wake()
  })
  readable.on("end", () => {
    ended = true
    wake()
  })
  readable.on("close", () => {
    ended = true
    wake()
  })
  readable.on("error", (e) => {
    failure = e
    wake()
  })
  writable.on("error", (e) => {
    writeFailure = e
    wake()
  })
  const read: Effect.Effect<Option.Option<Uint8Array>, ConnectionIoError> = Effect.suspend(
    function pull(): Effect.Effect<Option.Option<Uint8Array>, ConnectionIoError> {
      const next = queue.shift()
      if (next !== undefined) {
        queued -= next.length
        if (queued <= HIGH_WATER / 2 && readable.isPaused()) readable.resume()
        return Effect.succeed(Option.some(next))
      }
      if (failure !== undefined) {
        return Effect.fail(new ConnectionIoError({ operation: `reading from ${description}`, cause: failure }))
      }
      if (ended) return Effect.succeed(Option.none())
      return Effect.async<void>((resume) => {
        waiter = () => resume(Effect.void)
        return Effect.sync(() => {
          waiter = undefined
        })
      }).pipe(Effect.zipRight(Effect.suspend(pull)))
    }
  )
  const write = (bytes: Uint8Array): Effect.Effect<void, ConnectionIoError> =>
    Effect.async<void, ConnectionIoError>((resume) => {
      const failed = writeFailure ?? (writable.writableEnded || writable.destroyed ? new Error("EPIPE") : undefined)
      if (failed !== undefined) {
        resume(Effect.fail(new ConnectionIoError({ operation: `writing to ${description}`, cause: failed })))
        return
      }
      const onError = (e: unknown) => {
        cleanup()
        resume(Effect.fail(new ConnectionIoError({ operation: `writing to ${description}`, cause: e })))
      }
      const onDrain = () => {
        cleanup()
        resume(Effect.void)
      }
      const cleanup = () => {
        writable.off("error", onError)
        writable.off("drain", onDrain)
        writable.off("close", onClose)
      }
      const onClose = () => onError(new Error("the connection was closed"))
      if (writable.write(bytes)) {
        resume(Effect.void)
        return
      }
      writable.on("error", onError)
      writable.on("drain", onDrain)
      writable.on("close", onClose)
      return Effect.sync(cleanup)
    })
  return {
    read,
    write,
    endWrite: Effect.sync(() => {
      if (!writable.writableEnded) writable.end()
    }),
    description
  }
}

/** How long a full backlog (EAGAIN) is retried before the connection fails. */
const CONNECT_BUDGET_MS = 20_000

/** The pause before retry `n` (0-based): 10 ms, growing by half each time, at most 250 ms. */
const connectBackoffMs = (n: number): number => Math.min(250, 10 * 1.5 ** n)

/**
 * Opens a connection to the Unix socket at `socketPath`, closed with the
 * scope. A full backlog (EAGAIN: a daemon that accepts slowly, as Nix's,
 * which forks per connection, on a loaded machine) is retried with a growing
 * pause for up to twenty seconds; any other error fails at once.
 */
export const connectUnix = (socketPath: string): Effect.Effect<ByteConnection, ConnectionIoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const deadline = Date.now() + CONNECT_BUDGET_MS
      const attempt = (n: number): Effect.Effect<net.Socket, ConnectionIoError> =>
        connectOnce(socketPath).pipe(
          Effect.catchIf(
            (e) => errnoCode(e.cause) === "EAGAIN" && Date.now() < deadline,
            // A real timer, not Effect's clock (callers may run under a test clock).
            () => realSleep(connectBackoffMs(n)).pipe(Effect.zipRight(attempt(n + 1)))
          )
        )
      return attempt(0)
    }),
    (socket) => Effect.sync(() => socket.destroy())
  ).pipe(Effect.map((socket) => fromStreams(socket, socket, `socket '${socketPath}'`)))

/** Waits `ms` on Node's timers, whatever clock the caller's fibers run under. */
const realSleep = (ms: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), ms)
    return Effect.sync(() => clearTimeout(timer))
  })

const connectOnce = (socketPath: string): Effect.Effect<net.Socket, ConnectionIoError> =>
  Effect.async<net.Socket, ConnectionIoError>((resume) => {
    const socket = net.createConnection({ path: socketPath })
    const onError = (e: unknown) => {
      socket.destroy()
      resume(
        Effect.fail(new ConnectionIoError({ operation: `cannot connect to socket at '${socketPath}'`, cause: e }))
      )
    }
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.off("error", onError)
      resume(Effect.succeed(socket))
    })
    return Effect.sync(() => socket.destroy())
  })

/** What to run for a connection over a child process's stdin/stdout. */
export interface ProcessCommand {
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** Where the child's standard error goes (default: ours, as Nix lets ssh print there). */
  readonly stderr?: "inherit" | "ignore" | undefined
}

/**
 * Starts `command` and connects to its stdin/stdout. When the scope closes,
 * its stdin is closed and, if it has not exited within a second, it is
 * killed; the scope waits for it to exit.
 */
export const spawnConnection = (
  cmd: ProcessCommand
): Effect.Effect<ByteConnection, ConnectionIoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<childProcess.ChildProcessByStdio<Writable, Readable, null>, ConnectionIoError>((resume) => {
      const child = childProcess.spawn(cmd.command, [...cmd.args], {
        stdio: ["pipe", "pipe", cmd.stderr ?? "inherit"]
      })
      const onError = (e: unknown) =>
        resume(Effect.fail(new ConnectionIoError({ operation: `cannot start '${cmd.command}'`, cause: e })))
      child.once("error", onError)
      child.once("spawn", () => {
        child.off("error", onError)
        // Later errors (EPIPE on stdin) reach the connection's stream handlers.
        child.on("error", () => {})
        resume(Effect.succeed(child))
      })
    }),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        const timer = setTimeout(() => child.kill("SIGKILL"), 1000)
        child.once("exit", () => {
          clearTimeout(timer)
          resume(Effect.void)
        })
        child.stdin.end()
        child.stdout.destroy()
      })
  ).pipe(
    Effect.map((child) => fromStreams(child.stdout, child.stdin, `process '${[cmd.command, ...cmd.args].join(" ")}'`))
  )
