/** Running the collector's child-process fixtures. */
import { spawn } from "node:child_process"
import * as path from "node:path"

/** Absolute path of a fixture under test/fixtures. */
export const fixture = (name: string): string => path.resolve(__dirname, "../../../fixtures", name)

/** The outcome of a child process. */
export interface ChildResult {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a fixture; `killAfter` sends SIGKILL that many milliseconds after the
 * child prints `killFrom` (or after the start when `killFrom` is undefined).
 */
export const runFixture = (
  name: string,
  args: ReadonlyArray<string>,
  killAfter?: number,
  killFrom?: string
): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture(name), ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let timer: NodeJS.Timeout | undefined
    const arm = () => {
      if (killAfter !== undefined && timer === undefined) timer = setTimeout(() => child.kill("SIGKILL"), killAfter)
    }
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString()
      if (killFrom !== undefined && stdout.includes(killFrom)) arm()
    })
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    if (killFrom === undefined) arm()
    child.on("error", reject)
    child.on("close", (status, signal) => {
      if (timer) clearTimeout(timer)
      resolve({ status, signal, stdout, stderr })
    })
  })
