/**
 * Running the built `bin/tsnix` in a child process, for CLI tests.
 * Asynchronous, so the test worker's event loop stays free while it runs.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** Absolute path of the committed `bin/tsnix` executable. */
export const tsnixBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/tsnix")

/** The outcome of one tsnix run. */
export interface RunResult {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: Buffer
  readonly stderr: string
}

/** Runs `tsnix ARGS` with optional stdin and extra environment. */
export const runTsnix = (
  args: ReadonlyArray<string>,
  options: {
    readonly input?: Uint8Array | string
    readonly env?: Record<string, string>
    readonly cwd?: string
    /** Run as this user and group (the test must be root). */
    readonly uid?: number
    readonly gid?: number
  } = {}
): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsnixBin, ...args], {
      env: { ...process.env, NIX_CONFIG: "", ...options.env },
      cwd: options.cwd,
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
      stdio: ["pipe", "pipe", "pipe"]
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (d: Buffer) => out.push(d))
    child.stderr.on("data", (d: Buffer) => err.push(d))
    child.stdin.on("error", () => undefined)
    child.on("error", reject)
    child.on("close", (status, signal) =>
      resolve({ status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }))
    child.stdin.end(options.input ?? "")
  })
