/**
 * `--import` at scale, in a real child process under the default
 * `ulimit -n 1024`: thousands of paths import in one go (path locks are taken
 * in bounded batches, not one descriptor per path), every path is valid
 * afterwards and no `.lock` file is left; a SIGKILL mid-import leaves nothing
 * registered, and the next write (`--gc`, a new import) leaves no lock file or
 * temporary behind.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { chainStream } from "./exportStreams.js"
import { runTsnix, tsnixBin } from "./helpers.js"
import { isTempName } from "../../src/stores/local/ops/tempPath.js"

const roots: Array<string> = []
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })))

/** Runs tsnix under `ulimit -n 1024`; `killWhen` (polled every 5 ms) sends SIGKILL once it holds. */
const importLimited = (root: string, stream: Uint8Array, killWhen?: () => boolean) =>
  new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(
        "bash",
        ["-c", "ulimit -n 1024 && exec \"$0\" \"$@\"", process.execPath, tsnixBin, "--store", root, "--import"],
        { env: { ...process.env, NIX_CONFIG: "" }, stdio: ["pipe", "pipe", "pipe"] }
      )
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
      child.stdin.on("error", () => undefined)
      child.on("error", reject)
      const timer = killWhen === undefined ? undefined : setInterval(() => {
        if (killWhen()) child.kill("SIGKILL")
      }, 5)
      child.on("close", (status, signal) => {
        if (timer !== undefined) clearInterval(timer)
        resolve({ status, signal, stdout, stderr })
      })
      child.stdin.end(stream)
    }
  )

const leftovers = (store: string) => fs.readdirSync(store).filter((n) => n.endsWith(".lock") || isTempName(n))

describe("--import at scale under ulimit -n 1024", () => {
  it("imports 2500 paths: all valid, no lock file left, contents verify", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-import-scale-"))
    roots.push(root)
    const { paths, stream } = chainStream(2500)
    const r = await importLimited(root, stream)
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" })
    expect(r.stdout.trim().split("\n")).toEqual(paths)
    const store = path.join(root, "nix/store")
    expect(leftovers(store)).toEqual([])
    const valid = await runTsnix(["--store", root, "--check-validity", "--print-invalid", ...paths.slice(-1)])
    expect({ status: valid.status, stdout: valid.stdout.toString() }).toEqual({ status: 0, stdout: "" })
    const closure = await runTsnix(["--store", root, "-qR", paths[paths.length - 1] as string])
    expect(closure.stdout.toString().trim().split("\n").sort()).toEqual([...paths].sort())
    const verify = await runTsnix(["--store", root, "--verify", "--check-contents"])
    expect(verify.status).toBe(0)
    expect(verify.stderr).not.toMatch(/modified|error|invalid/)
  }, 120_000)

  it("SIGKILL mid-import: nothing registered; the next writes leave no lock or temporary", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-import-kill-"))
    roots.push(root)
    const store = path.join(root, "nix/store")
    const { paths, stream } = chainStream(2500)
    // Kill once some paths are being moved into place (their lock files exist).
    const r = await importLimited(
      root,
      stream,
      () => fs.existsSync(store) && fs.readdirSync(store).some((n) => n.endsWith(".lock"))
    )
    expect(r.signal).toBe("SIGKILL")
    const dump = await runTsnix(["--store", root, "--dump-db"])
    expect({ status: dump.status, stdout: dump.stdout.toString() }).toEqual({ status: 0, stdout: "" })
    // The GC (a write) deletes what the dead process left: stale lock files, temporaries, unregistered copies.
    const gc = await runTsnix(["--store", root, "--gc"])
    expect(gc.status).toBe(0)
    expect(fs.readdirSync(store).filter((n) => n !== ".links")).toEqual([])
    // And the stream imports afterwards, leaving nothing behind.
    const again = await importLimited(root, stream)
    expect({ status: again.status, stderr: again.stderr }).toEqual({ status: 0, stderr: "" })
    expect(again.stdout.trim().split("\n")).toEqual(paths)
    expect(leftovers(store)).toEqual([])
  }, 120_000)
})
