import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { runTsnix, tsnixBin } from "./helpers.js"

/** Runs `node FLAGS bin/tsnix ARGS`, for a run whose V8 flags differ from the build's. */
const runWithFlags = (flags: ReadonlyArray<string>, args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, tsnixBin, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

describe("bin/tsnix (the bundle and its code cache)", () => {
  it("the code cache written by the build is accepted by this Node", async () => {
    // `--version` alone is answered without the bundle (no cache involved); beside `--help` it goes through it.
    const r = await runTsnix(["--version", "--help"], { env: { TSNIX_DEBUG_CODE_CACHE: "1" } })
    expect(r.status).toBe(0)
    expect(r.stderr).toBe("tsnix: code cache accepted\n")
  })

  it("`tsnix --version` is answered by the launcher alone, as the CLI answers it", async () => {
    const fast = await runTsnix(["--version"], { env: { TSNIX_DEBUG_CODE_CACHE: "1" } })
    expect(fast.status).toBe(0)
    expect(fast.stderr).toBe("")
    expect(fast.stdout.toString()).toMatch(/^tsnix \(Nix-compatible store\) \d+\.\d+\.\d+\n$/)
    // Through the bundle (`-v` keeps the fast path out): the same line.
    const full = await runTsnix(["-v", "--version"])
    expect(full.stdout.toString()).toBe(fast.stdout.toString())
  })

  it("with a cache V8 rejects (other V8 flags), the command still runs and answers the same", async () => {
    const r = await runWithFlags(["--stack-size=2000"], ["hash", "--to-base32", "sha256:" + "ab".repeat(32)], {
      TSNIX_DEBUG_CODE_CACHE: "1"
    })
    expect(r.stderr).toBe("tsnix: code cache rejected\n")
    expect(r.status).toBe(0)
    const plain = await runTsnix(["hash", "--to-base32", "sha256:" + "ab".repeat(32)])
    expect(r.stdout).toBe(plain.stdout.toString())
  })
})
