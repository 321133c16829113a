/**
 * The next write operation (not only `--gc`) cleans up after dead processes:
 * a `tsnix --add` SIGKILLed while copying leaves its temporary and its
 * temp-roots file; a process killed while installing leaves an unregistered
 * copy and its `.lock` file (made here with the files such a process leaves,
 * under the pid of a process that has exited). A later `tsnix --add` of
 * something else removes all of them (and leaves alone what no dead process's
 * file names: that is the collector's).
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { isTempName } from "../../src/stores/local/ops/tempPath.js"
import { runTsnix, tsnixBin } from "./helpers.js"

let work = ""
afterEach(() => {
  if (work !== "") {
    execFileSync("chmod", ["-R", "u+w", work])
    fs.rmSync(work, { recursive: true, force: true })
  }
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("leftovers of dead processes", () => {
  it("a write operation removes a killed add's temporary, an unregistered copy and its lock file", async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-dead-"))
    const root = path.join(work, "root")
    const storeDir = path.join(root, "nix/store")
    const tempRoots = path.join(root, "nix/var/nix/temproots")
    const big = path.join(work, "big")
    fs.mkdirSync(big)
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(big, `f${i}`), `${i}\n`.repeat(50))
    const small = path.join(work, "small")
    fs.writeFileSync(small, "small\n")
    expect((await runTsnix(["--store", root, "--add", small])).status).toBe(0)

    // 1. A real add, SIGKILLed once its temporary exists.
    const child = spawn(process.execPath, [tsnixBin, "--store", root, "--add", big], { stdio: "ignore" })
    const deadline = Date.now() + 30_000
    while (!fs.readdirSync(storeDir).some(isTempName) && Date.now() < deadline) await sleep(5)
    child.kill("SIGKILL")
    await new Promise((r) => child.on("exit", r))
    const killedTemps = fs.readdirSync(storeDir).filter(isTempName)
    expect(killedTemps.length).toBeGreaterThan(0)
    expect(fs.existsSync(path.join(tempRoots, String(child.pid)))).toBe(true)

    // 2. What a process killed while installing leaves: an unregistered copy, its lock file, and its
    //    temp-roots file naming the path, under the pid of a process that has exited.
    const gone = spawnSync("true").pid
    const copy = `/nix/store/${"1".repeat(32)}-unregistered`
    fs.mkdirSync(path.join(root, copy))
    fs.writeFileSync(path.join(root, copy, "file"), "half\n")
    fs.writeFileSync(path.join(root, copy + ".lock"), "")
    fs.writeFileSync(path.join(tempRoots, String(gone)), `${copy}\0`)
    // An invalid copy no dead process's file names: left to the collector.
    const liveCopy = `/nix/store/${"2".repeat(32)}-in-progress`
    fs.mkdirSync(path.join(root, liveCopy))

    const r = await runTsnix(["--store", root, "--add", path.join(work, "small")])
    expect(r.status).toBe(0)
    expect(fs.readdirSync(storeDir).filter(isTempName)).toEqual([])
    expect(fs.existsSync(path.join(root, copy))).toBe(false)
    expect(fs.existsSync(path.join(root, copy + ".lock"))).toBe(false)
    expect(fs.readdirSync(storeDir).filter((n) => n.endsWith(".lock"))).toEqual([])
    expect(fs.readdirSync(tempRoots)).toEqual([])
    expect(fs.existsSync(path.join(root, liveCopy))).toBe(true)
    const v = await runTsnix(["--store", root, "--verify", "--check-contents"])
    expect(v.status).toBe(0)
  }, 120_000)
})
