/**
 * Runs several tsnix command lines in one child process (test/fixtures/cli-batch.mjs),
 * for CLI tests that compare many outputs without paying a process start each.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/cli-batch.mjs")

/** The outcome of one command of a batch. */
export interface BatchResult {
  readonly status: number
  readonly stdout: Buffer
  readonly stderr: string
}

/** A command of a batch: its argv, or argv, a file to read standard input from and a directory to run in. */
export type BatchCommand = ReadonlyArray<string> | {
  readonly args: ReadonlyArray<string>
  readonly stdinFile?: string
  readonly cwd?: string
}

/** Runs each command in order in one process; resolves with their results. */
export const runTsnixBatch = (commands: ReadonlyArray<BatchCommand>): Promise<Array<BatchResult>> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(commands)], {
      // As golden/cli/generate.sh ran Nix: no substituters (the default one would be tried over the network).
      env: { ...process.env, NIX_CONFIG: "substituters =" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (d: Buffer) => out.push(d))
    child.stderr.on("data", (d: Buffer) => err.push(d))
    child.on("error", reject)
    child.on("close", (status) => {
      if (status !== 0) return reject(new Error(`cli-batch exited with ${status}: ${Buffer.concat(err).toString()}`))
      const parsed = JSON.parse(Buffer.concat(out).toString("utf8")) as Array<
        { status: number; stdout: string; stderr: string }
      >
      resolve(parsed.map((r) => ({ status: r.status, stdout: Buffer.from(r.stdout, "base64"), stderr: r.stderr })))
    })
  })
