/**
 * Running a builder as Nix 2.8 does: stdin `/dev/null`, stdout and stderr the
 * same pipe (a FIFO in a private directory, so the two streams stay
 * interleaved as written), its own session and process group (`setsid`),
 * nothing inherited but what the caller puts in `env`. The output goes to
 * `onOutput` as it comes. `timeout` and `max-silent-time` kill the whole
 * process group, and so does interruption (the effect then waits for the
 * child to be gone). When the builder exits, its process group is killed
 * too (what Nix's `Pid::kill` does), so no left-over process keeps the pipe.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Buffer } from "node:buffer"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { BuilderStoreError } from "../services/Builder.js"
import { launch, makeFifos } from "./spawnerClient.js"

/** What to run. Strings are UTF-8 text (byte strings are converted by the caller). */
export interface ChildSpec {
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** argv[0] (Nix: the builder's base name). */
  readonly argv0?: string | undefined
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
  /** Seconds (0: none). */
  readonly timeout: number
  /** Seconds without output (0: none). */
  readonly maxSilentTime: number
  /** Bytes of output before the builder is killed (0: unlimited). */
  readonly maxLogSize: number
  readonly onOutput: (chunk: Uint8Array) => void
}

/** How the builder ended. */
export type ChildOutcome =
  | { readonly _tag: "Exited"; readonly code: number | null; readonly signal: NodeJS.Signals | null }
  | { readonly _tag: "TimedOut"; readonly silence: boolean }
  | { readonly _tag: "LogLimit" }
  | { readonly _tag: "SpawnFailed"; readonly reason: string }

const killGroup = (pid: number | undefined) => {
  if (pid === undefined) return
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    // already gone
  }
}

/** Removes the FIFO directories of processes that died without removing theirs (killed, or a test worker). */
const sweepStaleFifoDirs = () => {
  try {
    for (const e of fs.readdirSync(os.tmpdir())) {
      const m = /^tsnix-log-([0-9]+)-/.exec(e)
      if (m === null || Number(m[1]) === process.pid) continue
      try {
        process.kill(Number(m[1]), 0)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ESRCH") {
          fs.rmSync(path.join(os.tmpdir(), e), { recursive: true, force: true })
        }
      }
    }
  } catch {
    // best effort
  }
}

/**
 * One-shot FIFOs, made in batches by one `mkfifo` (a process per build would cost more than the
 * build of a trivial derivation), in a directory of this process's own (`tsnix-log-<pid>-…`) that goes when it exits, or
 * when a later tsnix process finds its owner dead.
 */
const fifoPool = (() => {
  let dir: string | undefined
  let counter = 0
  const ready: Array<string> = []
  let refill: Promise<void> | undefined
  const batch = 32
  const fill = () =>
    new Promise<void>((resolve, reject) => {
      if (dir === undefined) {
        sweepStaleFifoDirs()
        dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsnix-log-${process.pid}-`))
        const d = dir
        process.once("exit", () => fs.rmSync(d, { recursive: true, force: true }))
      }
      const names = Array.from({ length: batch }, () => path.join(dir!, String(counter++)))
      makeFifos(names).then(() => {
        ready.push(...names)
        resolve()
      }, reject)
    })
  return {
    take: async (): Promise<string> => {
      while (ready.length === 0) {
        refill ??= fill().finally(() => (refill = undefined))
        await refill
      }
      return ready.shift()!
    }
  }
})()

/** Runs the builder to its end (see the module comment). */
export const runChild = (spec: ChildSpec): Effect.Effect<ChildOutcome, BuilderStoreError> =>
  Effect.flatMap(
    Effect.tryPromise({
      try: () => fifoPool.take(),
      catch: (cause) => new BuilderStoreError({ operation: "creating the builder's log pipe", cause })
    }),
    (fifo) => runWithFifo(spec, fifo)
  )

const runWithFifo = (spec: ChildSpec, fifo: string): Effect.Effect<ChildOutcome, BuilderStoreError> =>
  Effect.async<ChildOutcome, BuilderStoreError>((resume) => {
    let readFd: number
    try {
      readFd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
    } catch (cause) {
      resume(Effect.fail(new BuilderStoreError({ operation: "creating the builder's log pipe", cause })))
      return
    }
    let pid: number | undefined
    let socket: net.Socket | undefined
    let outcome: ChildOutcome | undefined
    let interrupted = false
    let exited = false
    let eof = false
    let logged = 0
    let silenceTimer: NodeJS.Timeout | undefined
    let totalTimer: NodeJS.Timeout | undefined
    const clearTimers = () => {
      if (silenceTimer !== undefined) clearTimeout(silenceTimer)
      if (totalTimer !== undefined) clearTimeout(totalTimer)
    }
    // Set when this side ends the build (timeout, log limit, interruption): later output is dropped.
    // A builder's own exit is not that: what it wrote before exiting is still to be read.
    let stopped = false
    const stop = (o: ChildOutcome) => {
      stopped = true
      if (outcome === undefined) outcome = o
      killGroup(pid)
    }
    const armSilence = () => {
      if (spec.maxSilentTime <= 0) return
      if (silenceTimer !== undefined) clearTimeout(silenceTimer)
      silenceTimer = setTimeout(() => stop({ _tag: "TimedOut", silence: true }), spec.maxSilentTime * 1000)
    }
    let finished = false
    const finish = () => {
      if (finished || !exited || !eof) return
      finished = true
      clearTimers()
      if (socket !== undefined) socket.destroy()
      else fs.closeSync(readFd)
      resume(Effect.succeed(outcome ?? { _tag: "Exited", code: null, signal: null }))
    }
    const removeFifo = () => fs.rmSync(fifo, { force: true })
    launch(
      {
        command: spec.command,
        args: spec.args,
        argv0: spec.argv0 ?? spec.command,
        env: spec.env,
        cwd: spec.cwd
      },
      fifo,
      {
        spawned: (p) => {
          pid = p
          // Both ends are open: the name is no longer needed.
          removeFifo()
          if (interrupted) killGroup(pid)
          if (spec.timeout > 0) {
            totalTimer = setTimeout(() => stop({ _tag: "TimedOut", silence: false }), spec.timeout * 1000)
          }
          armSilence()
          const s = new net.Socket({ fd: readFd, readable: true, writable: false })
          socket = s
          s.on("data", (chunk: Buffer) => {
            if (stopped) return
            armSilence()
            if (spec.maxLogSize > 0 && logged + chunk.length > spec.maxLogSize) {
              logged += chunk.length
              stop({ _tag: "LogLimit" })
              return
            }
            logged += chunk.length
            spec.onOutput(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          })
          s.on("end", () => {
            eof = true
            finish()
          })
          s.on("error", () => {
            eof = true
            finish()
          })
        },
        failed: (reason) => {
          if (pid === undefined) removeFifo()
          if (outcome === undefined) outcome = { _tag: "SpawnFailed", reason }
          exited = true
          eof = true
          finish()
        },
        exited: (code, signal) => {
          if (outcome === undefined) outcome = { _tag: "Exited", code, signal }
          exited = true
          // Left-over processes of the build die with it (Nix kills the process group).
          killGroup(pid)
          finish()
        }
      }
    )
    return Effect.async<void>((done) => {
      if (finished) return done(Effect.void)
      interrupted = true
      stopped = true
      outcome = outcome ?? { _tag: "Exited", code: null, signal: "SIGKILL" }
      killGroup(pid)
      const check = setInterval(() => {
        if (exited) {
          clearInterval(check)
          clearTimers()
          if (socket !== undefined) socket.destroy()
          else if (!finished) fs.closeSync(readFd)
          finished = true
          done(Effect.void)
        }
      }, 5)
    })
  })
