/**
 * Starting builder processes: through the spawner (spawner.ts) once it is up, directly with
 * `child_process.spawn` until then (the first builds do not wait for it), when it could not be
 * started or has died, and when `TSNIX_BUILD_SPAWNER=0`. Either way the builder gets the same
 * command, argv[0], environment, working directory, stdio (stdin `/dev/null`, stdout and stderr
 * the FIFO) and its own session. The spawner is started by the first launch, never keeps this
 * process alive while nothing is asked of it, and exits when this process does.
 *
 * @since 0.1.0
 */
import * as cp from "node:child_process"
import * as fs from "node:fs"
import type { Readable, Writable } from "node:stream"
import { type SpawnerReply, type SpawnerRequest, spawnerMain } from "./spawner.js"

/** What to start (strings are UTF-8 text). */
export interface LaunchSpec {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly argv0: string
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
}

/** What a launch reports, in this order: `spawned` or `failed`, then (after `spawned`) `exited` or `failed`. */
export interface LaunchCallbacks {
  /** The builder runs with this pid (its process group and session id); the FIFO's write end is now held by it alone. */
  readonly spawned: (pid: number) => void
  /** It could not be started (or signalled). */
  readonly failed: (reason: string) => void
  /** It has ended. */
  readonly exited: (code: number | null, signal: NodeJS.Signals | null) => void
}

interface Running {
  readonly spawner: cp.ChildProcess
  readonly stdin: Writable
  readonly stdout: Readable
  readonly launches: Map<number, LaunchCallbacks & { pid?: number }>
  readonly fifos: Map<number, (error: string | null) => void>
}

let state: "off" | "starting" | "failed" | Running = "off"
let nextId = 1
/** Called when the spawner is up (true) or has failed or gone (false). */
const readyWaiters: Array<(up: boolean) => void> = []
const settle = (up: boolean) => {
  for (const w of readyWaiters.splice(0)) w(up)
}

const outstanding = (r: Running) => r.launches.size + r.fifos.size
/** The spawner's pipes keep this process alive only while something is asked of it. */
const updateRef = (r: Running) => {
  if (outstanding(r) > 0) asRef(r.stdout).ref?.()
  else asRef(r.stdout).unref?.()
}
/** The pipes of a child are sockets, which have `ref` and `unref`; the stream types do not say so. */
const asRef = (s: Readable | Writable) => s as unknown as { ref?: () => void; unref?: () => void }

/** Starts the spawner (once); until it says it is ready, launches go the direct way. */
const start = () => {
  if (state !== "off" || process.env["TSNIX_BUILD_SPAWNER"] === "0") return
  state = "starting"
  let spawner: cp.ChildProcess
  try {
    spawner = cp.spawn(process.execPath, ["-e", `(${spawnerMain.toString()})(require)`], {
      // Nothing of it reaches the user's terminal (a spawner that fails is noticed by its exit).
      stdio: ["pipe", "pipe", "ignore"],
      env: process.env
    })
  } catch {
    state = "failed"
    settle(false)
    return
  }
  const stdin = spawner.stdin!
  const stdout = spawner.stdout!
  spawner.unref()
  asRef(stdin).unref?.()
  asRef(stdout).unref?.()
  const running: Running = { spawner, stdin, stdout, launches: new Map(), fifos: new Map() }
  const onReply = (m: SpawnerReply) => {
    if (m.t === "ready") {
      state = running
      settle(true)
      return
    }
    if (m.t === "made") {
      const done = running.fifos.get(m.id)
      running.fifos.delete(m.id)
      done?.(m.error)
    } else {
      const l = running.launches.get(m.id)
      if (l === undefined) return
      if (m.t === "spawned") {
        l.pid = m.pid
        l.spawned(m.pid)
        return
      }
      running.launches.delete(m.id)
      if (m.t === "error") l.failed(m.reason)
      else l.exited(m.code, m.signal)
    }
    updateRef(running)
  }
  let buffered = ""
  stdout.setEncoding("utf8")
  stdout.on("data", (d: string) => {
    buffered += d
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      const line = buffered.slice(0, i)
      buffered = buffered.slice(i + 1)
      onReply(JSON.parse(line) as SpawnerReply)
    }
  })
  const gone = () => {
    if (state === running || state === "starting") state = "failed"
    settle(false)
    // Whatever it was running is lost to us: kill it, and report it ended.
    for (const l of running.launches.values()) {
      if (l.pid !== undefined) {
        try {
          process.kill(-l.pid, "SIGKILL")
        } catch {
          // already gone
        }
        l.exited(null, "SIGKILL")
      } else l.failed("the builder spawner exited")
    }
    running.launches.clear()
    for (const done of running.fifos.values()) done("the builder spawner exited")
    running.fifos.clear()
  }
  spawner.on("error", gone)
  spawner.on("exit", gone)
  stdin.on("error", () => {})
}

/** Starts the spawner if it is not yet, and tells when it is up (true) or cannot be used (false). */
export const whenSpawnerReady = (): Promise<boolean> =>
  new Promise((resolve) => {
    start()
    if (typeof state === "object") return resolve(true)
    if (state !== "starting") return resolve(false)
    readyWaiters.push(resolve)
  })

const send = (r: Running, m: SpawnerRequest) => r.stdin.write(JSON.stringify(m) + "\n")

/** Starts the builder with its stdout and stderr on the FIFO `fifo` (whose read end the caller holds). */
export const launch = (spec: LaunchSpec, fifo: string, callbacks: LaunchCallbacks): void => {
  if (typeof state === "object") {
    const id = nextId++
    state.launches.set(id, { ...callbacks })
    updateRef(state)
    send(state, { t: "spawn", id, ...spec, fifo })
    return
  }
  start()
  let writeFd: number
  try {
    writeFd = fs.openSync(fifo, fs.constants.O_WRONLY)
  } catch (e) {
    return callbacks.failed(`opening the log pipe: ${String(e)}`)
  }
  let child: cp.ChildProcess
  try {
    child = cp.spawn(spec.command, [...spec.args], {
      argv0: spec.argv0,
      env: spec.env,
      cwd: spec.cwd,
      stdio: ["ignore", writeFd, writeFd],
      detached: true
    })
  } catch (e) {
    fs.closeSync(writeFd)
    return callbacks.failed(String(e))
  }
  fs.closeSync(writeFd)
  if (child.pid !== undefined) callbacks.spawned(child.pid)
  child.on("error", (e) => callbacks.failed(e.message))
  child.on("exit", (code, signal) => callbacks.exited(code, signal))
}

/** Makes FIFOs (mode 0600) with one `mkfifo` process, started by the spawner when it is up. */
export const makeFifos = (names: ReadonlyArray<string>): Promise<void> =>
  new Promise((resolve, reject) => {
    const done = (error: string | null) => (error === null ? resolve() : reject(new Error(error)))
    if (typeof state === "object") {
      const id = nextId++
      state.fifos.set(id, done)
      updateRef(state)
      send(state, { t: "mkfifo", id, names })
      return
    }
    start()
    cp.execFile("mkfifo", ["-m", "0600", ...names], (e) => done(e ? e.message : null))
  })
