/**
 * The builders' spawner: a small Node process, started once by the first build, that forks the
 * builder processes on the main process's behalf. `fork` costs in proportion to the forking
 * process's memory (its page tables are copied and every page it then writes takes a
 * copy-on-write fault): from the ~150 MB main process that is most of a trivial build's time, and
 * it blocks the event loop, so builds under `-j N` could not overlap. The spawner is ~40 MB, does
 * nothing else, and forks beside the main process.
 *
 * Protocol: one JSON object per line. Requests on its stdin:
 * `{t:"spawn",id,command,args,argv0,env,cwd,fifo}` (the builder's stdout and stderr are the FIFO
 * `fifo`, whose read end the caller holds open; stdin `/dev/null`; its own session) and
 * `{t:"mkfifo",id,names}`. Replies on its stdout: `{t:"ready"}` once, then `{t:"spawned",id,pid}`,
 * `{t:"error",id,reason}` (the spawn failed, or the process could not be signalled),
 * `{t:"exit",id,code,signal}` and `{t:"made",id,error}`. When its stdin closes or a reply cannot
 * be written (the main process is gone) it kills the process groups of the builders still running
 * and exits. Its stderr is not the user's terminal: it never writes there. It ignores
 * the terminal's SIGINT, SIGQUIT and SIGHUP: the main process decides what an interruption kills.
 *
 * The code runs as `node -e`, from this function's source, so it needs no file of its own
 * (it is the same from the TypeScript sources, dist/ and the CLI bundle): it may use nothing
 * but its parameter.
 *
 * @since 0.1.0
 */

/** A request to the spawner. */
export type SpawnerRequest =
  | {
    readonly t: "spawn"
    readonly id: number
    readonly command: string
    readonly args: ReadonlyArray<string>
    readonly argv0: string
    readonly env: Readonly<Record<string, string>>
    readonly cwd: string
    readonly fifo: string
  }
  | { readonly t: "mkfifo"; readonly id: number; readonly names: ReadonlyArray<string> }

/** A reply of the spawner. */
export type SpawnerReply =
  | { readonly t: "ready" }
  | { readonly t: "spawned"; readonly id: number; readonly pid: number }
  | { readonly t: "error"; readonly id: number; readonly reason: string }
  | { readonly t: "exit"; readonly id: number; readonly code: number | null; readonly signal: NodeJS.Signals | null }
  | { readonly t: "made"; readonly id: number; readonly error: string | null }

/** The spawner's main function (see the module comment); `load` is CommonJS `require`. */
export const spawnerMain = (load: (id: string) => unknown): void => {
  const cp = load("node:child_process") as typeof import("node:child_process")
  const fs = load("node:fs") as typeof import("node:fs")
  const live = new Set<number>()
  /** The main process is gone: the builders still running go with it. */
  const orphaned = () => {
    for (const pid of live) {
      try {
        process.kill(-pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
    process.exit(0)
  }
  // A reply to a main process that has exited fails (EPIPE): that is the same as its stdin closing.
  process.stdout.on("error", orphaned)
  const send = (m: SpawnerReply) => {
    try {
      process.stdout.write(JSON.stringify(m) + "\n")
    } catch {
      orphaned()
    }
  }
  const spawn = (m: SpawnerRequest & { t: "spawn" }) => {
    let fd: number
    try {
      fd = fs.openSync(m.fifo, fs.constants.O_WRONLY)
    } catch (e) {
      send({ t: "error", id: m.id, reason: `opening the log pipe: ${String(e)}` })
      return
    }
    let child: import("node:child_process").ChildProcess
    try {
      child = cp.spawn(m.command, [...m.args], {
        argv0: m.argv0,
        env: m.env,
        cwd: m.cwd,
        stdio: ["ignore", fd, fd],
        detached: true
      })
    } catch (e) {
      fs.closeSync(fd)
      send({ t: "error", id: m.id, reason: String(e) })
      return
    }
    fs.closeSync(fd)
    const pid = child.pid
    if (pid !== undefined) {
      live.add(pid)
      send({ t: "spawned", id: m.id, pid })
    }
    child.on("error", (e) => send({ t: "error", id: m.id, reason: e.message }))
    child.on("exit", (code, signal) => {
      if (pid !== undefined) live.delete(pid)
      send({ t: "exit", id: m.id, code, signal })
    })
  }
  const handle = (m: SpawnerRequest) => {
    if (m.t === "spawn") spawn(m)
    else {
      cp.execFile(
        "mkfifo",
        ["-m", "0600", ...m.names],
        (e) => send({ t: "made", id: m.id, error: e ? e.message : null })
      )
    }
  }
  for (const s of ["SIGINT", "SIGQUIT", "SIGHUP"] as const) process.on(s, () => {})
  let pending = ""
  process.stdin.setEncoding("utf8")
  process.stdin.on("data", (d: string) => {
    pending += d
    for (let i = pending.indexOf("\n"); i >= 0; i = pending.indexOf("\n")) {
      const line = pending.slice(0, i)
      pending = pending.slice(i + 1)
      handle(JSON.parse(line) as SpawnerRequest)
    }
  })
  process.stdin.on("end", orphaned)
  process.stdin.on("error", orphaned)
  send({ t: "ready" })
}
