/**
 * SIGINT during a long registration via the CLI: the process exits with
 * status 130, nothing is registered, no temporary files remain.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { goldenBytes } from "../stores/local/ops/golden.js"
import { runTsnixBatch } from "./cliBatch.js"
import { tsnixBin } from "./helpers.js"
import { isTempName } from "../../src/stores/local/ops/tempPath.js"

const roots: Array<string> = []
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })))

/** Starts tsnix; `interruptWhen` is polled every 5 ms and SIGINT sent once it holds. */
const runAndInterrupt = (
  args: ReadonlyArray<string>,
  feed: (stdin: NodeJS.WritableStream) => void,
  interruptWhen: () => boolean
) =>
  new Promise<{ status: number | null; stderr: string; interrupted: boolean }>((resolve, reject) => {
    const child = spawn(process.execPath, [tsnixBin, ...args], {
      env: { ...process.env, NIX_CONFIG: "" },
      stdio: ["pipe", "pipe", "pipe"]
    })
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
      () => fs.existsSync(store) && fs.readdirSync(store).some(isTempName)
    )
    expect(r.interrupted).toBe(true)
    expect(r.status).toBe(130)
    expect(fs.readdirSync(store).filter((n) => !n.endsWith(".lock") && n !== ".links")).toEqual([])
    const [dump] = await runTsnixBatch([["--store", root, "--dump-db"]])
    expect({ status: dump?.status, stdout: dump?.stdout.toString() }).toEqual({ status: 0, stdout: "" })
  }, 30_000)

  it("--load-db of 20k records interrupted at any moment is all-or-nothing", async () => {
    let text = ""
    for (let i = 0; i < 20_000; i++) {
      const h = i.toString(32).padStart(32, "0").replace(/[eout]/g, "a")
      text += `/nix/store/${h}-p${i}\n${"1".repeat(64)}\n8\n\n0\n`
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-sigint-"))
    roots.push(root)
    const dbDir = path.join(root, "nix/var/nix/db")
    // Interrupt once the database is open (its WAL exists): registration is starting or under way.
    const r = await runAndInterrupt(
      ["--store", root, "--load-db"],
      (stdin) => stdin.end(text),
      () => fs.existsSync(path.join(dbDir, "db.sqlite-wal"))
    )
    expect(r.interrupted).toBe(true)
    const [dump] = await runTsnixBatch([["--store", root, "--dump-db"]])
    const rows = dump?.stdout.toString().split("\n").filter((l) => l.startsWith("/nix/store/")).length
    expect(dump?.status).toBe(0)
    expect([0, 20_000]).toContain(rows)
    // Interrupted (130) means rolled back: no rows. Exit 0 means the signal came after COMMIT.
    if (r.status === 130) {
      expect(r.stderr).toContain("interrupted")
      expect(rows).toBe(0)
    } else {
      expect(r.status).toBe(0)
      expect(rows).toBe(20_000)
    }
  }, 30_000)
})
