/**
 * SIGINT while `--gc` is deleting, in a real child process: it stops within
 * a second or two, prints nix-store's summary line of what it deleted (fewer
 * than all), then the interruption, exits 130, and leaves a store that
 * verifies; a later `--gc` deletes the rest.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { chainStream } from "./exportStreams.js"
import { runTsnix, tsnixBin } from "./helpers.js"

const roots: Array<string> = []
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })))

/** Runs `tsnix --gc` and sends SIGINT once stderr shows the first deletion. */
const gcInterrupted = (root: string) =>
  new Promise<{ status: number | null; stdout: string; stderr: string; afterSignalMs: number }>((resolve, reject) => {
    const child = spawn(process.execPath, [tsnixBin, "--store", root, "--gc"], {
      env: { ...process.env, NIX_CONFIG: "" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let signalledAt: number | undefined
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString()
      if (signalledAt === undefined && stderr.includes("deleting '")) {
        signalledAt = performance.now()
        child.kill("SIGINT")
      }
    })
    child.on("error", reject)
    child.on("close", (status) =>
      resolve({
        status,
        stdout,
        stderr,
        afterSignalMs: signalledAt === undefined ? -1 : performance.now() - signalledAt
      }))
  })

describe("SIGINT during --gc", () => {
  it("stops soon, prints the summary of what was deleted, exits 130; the store verifies", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-gc-sigint-"))
    roots.push(root)
    const total = 8000
    const { stream } = chainStream(total, false)
    const imported = await runTsnix(["--store", root, "--import"], { input: stream })
    expect(imported.status).toBe(0)
    const r = await gcInterrupted(root)
    expect(r.afterSignalMs).toBeGreaterThanOrEqual(0)
    expect(r.status).toBe(130)
    expect(r.afterSignalMs).toBeLessThan(2000)
    const m = /^(\d+) store paths deleted, [\d.]+ MiB freed$/m.exec(r.stdout)
    expect(m, r.stdout).not.toBeNull()
    const deleted = Number(m?.[1])
    expect(deleted).toBeLessThan(total)
    expect(r.stderr).toMatch(/interrupted by the user/)
    const verify = await runTsnix(["--store", root, "--verify", "--check-contents"])
    expect(verify.status).toBe(0)
    expect(verify.stderr).not.toMatch(/modified|error|invalid/)
    const rest = await runTsnix(["--store", root, "--gc"])
    expect(rest.status).toBe(0)
    const n = Number(/^(\d+) store paths deleted/m.exec(rest.stdout.toString())?.[1])
    // The rest: every path not deleted before (invalidated ones left behind count as entries now).
    expect(n).toBeGreaterThanOrEqual(total - deleted)
    expect(fs.readdirSync(path.join(root, "nix/store")).filter((e) => e !== ".links")).toEqual([])
  }, 120_000)
})
