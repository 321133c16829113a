/**
 * SIGINT during a long registration via the CLI: the process exits with
 * status 130, nothing is registered, no temporary files remain.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { goldenBytes } from "../store/golden.js"
import { runTsnixBatch } from "./cliBatch.js"
import { tsnixBin } from "./helpers.js"

const roots: Array<string> = []
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })))

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Starts tsnix; `interruptWhen` is polled every 5 ms and SIGINT sent once it holds. */
const runAndInterrupt = (
  args: ReadonlyArray<string>,
  feed: (stdin: NodeJS.WritableStream) => void,
  interruptWhen: () => boolean
) =>
  new Promise<{ status: number | null; stderr: string; interrupted: boolean }>((resolve, reject) => {
    const child = spawn(process.execPath, [tsnixBin, ...args], { env: { ...process.env, NIX_CONFIG: "" }, stdio: ["pipe", "pipe", "pipe"] })
    let stderr = ""
    let interrupted = false
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.stdout.resume()
    child.stdin.on("error", () => undefined)
    child.on("error", reject)
    const timer = setInterval(() => {
      if (!interrupted && interruptWhen()) {
        interrupted = true
        child.kill("SIGINT")
      }
    }, 5)
    child.on("close", (status) => {
      clearInterval(timer)
      resolve({ status, stderr, interrupted })
    })
    feed(child.stdin)
  })

describe("SIGINT during registration", () => {
  it("--import interrupted mid-stream: exit 130, nothing registered, no temp files", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-sigint-"))
    roots.push(root)
    const store = path.join(root, "nix/store")
    const stream = goldenBytes("export.nar")
    // Every item but without the end marker, and stdin left open: the import is under way.
    const r = await runAndInterrupt(
      ["--store", root, "--import"],
      (stdin) => stdin.write(stream.subarray(0, stream.length - 8)),
      () => fs.existsSync(store) && fs.readdirSync(store).some((n) => n.startsWith(".tsnix-tmp-"))
    )
    expect(r.interrupted).toBe(true)
    expect(r.status).toBe(130)
    expect(fs.readdirSync(store).filter((n) => !n.endsWith(".lock"))).toEqual([])
    const [dump] = await runTsnixBatch([["--store", root, "--dump-db"]])
    expect({ status: dump?.status, stdout: dump?.stdout.toString() }).toEqual({ status: 0, stdout: "" })
  }, 30_000)

  it("--load-db of 50k records interrupted inside the transaction: exit 130, no rows", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-sigint-"))
    roots.push(root)
    const dbDir = path.join(root, "nix/var/nix/db")
    let text = ""
    for (let i = 0; i < 50_000; i++) {
      const h = i.toString(32).padStart(32, "0").replace(/[eout]/g, "a")
      text += `/nix/store/${h}-p${i}\n${"1".repeat(64)}\n8\n\n0\n`
    }
    // A write transaction shows as a journal (rollback or WAL) next to db.sqlite.
    const inTransaction = () =>
      ["db.sqlite-journal", "db.sqlite-wal"].some((f) => {
        try {
          return fs.statSync(path.join(dbDir, f)).size > 0
        } catch {
          return false
        }
      })
    const r = await runAndInterrupt(["--store", root, "--load-db"], (stdin) => stdin.end(text), inTransaction)
    expect(r.interrupted).toBe(true)
    expect(r.status).toBe(130)
    await sleep(10)
    const [dump] = await runTsnixBatch([["--store", root, "--dump-db"]])
    expect({ status: dump?.status, lines: dump?.stdout.toString().length }).toEqual({ status: 0, lines: 0 })
  }, 30_000)
})
