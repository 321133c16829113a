/**
 * tsnix beside Nix 2.8's own collector, both ways, with real processes:
 * `tsnix --add` (a large tree, then many small ones) while `nix-store --gc`
 * loops over the same store: every add succeeds, `nix-store --verify
 * --check-contents` finds nothing modified, and no added path is lost (each
 * stays valid, its root resolves); and `nix-store --add` of a tree
 * larger than Nix's NAR buffer (so Nix copies it through an `add-<pid>-<n>`
 * directory) while `tsnix --gc` loops: Nix's path verifies. The added paths
 * are rooted beforehand (direct roots to the paths a scratch store computed),
 * so the collectors only race for the temporaries. Needs nix-store; SKIPPED
 * without it (CI).
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runTsnix } from "./helpers.js"

const hasNix = spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const nixEnv = {
  ...process.env,
  NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters ="
}
const nixAsync = (args: ReadonlyArray<string>): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const c = spawn("nix-store", args, { env: nixEnv, stdio: ["ignore", "pipe", "pipe"] })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    c.stdout.on("data", (d: Buffer) => out.push(d))
    c.stderr.on("data", (d: Buffer) => err.push(d))
    c.on("error", reject)
    c.on(
      "close",
      (status) => resolve({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })
    )
  })
const ts = (root: string, args: ReadonlyArray<string>) =>
  runTsnix(["--store", root, "--option", "gc-runtime-roots", "false", ...args])

/** A tree of `files` files of `size` random bytes each. */
const makeTree = (dir: string, files: number, size: number) => {
  fs.mkdirSync(path.join(dir, "sub"), { recursive: true })
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(dir, i % 2 ? "sub" : "", `f${i}`), randomBytes(size))
}

/** Runs `step` repeatedly until `stop()` says so; resolves with the number of runs. */
const loop = async (step: () => Promise<unknown>, stop: () => boolean): Promise<number> => {
  let n = 0
  while (!stop()) {
    await step()
    n++
  }
  return n
}

let work = ""
afterEach(() => {
  if (work !== "") {
    execFileSync("chmod", ["-R", "u+w", work])
    fs.rmSync(work, { recursive: true, force: true })
  }
})

/** The store paths `srcs` get when added (computed in a scratch store), rooted in `root` by direct links. */
const rootExpected = async (root: string, srcs: ReadonlyArray<string>): Promise<Array<string>> => {
  const scratch = path.join(work, "scratch")
  const r = await ts(scratch, ["--add", ...srcs])
  expect(r.stderr).toBe("")
  const paths = r.stdout.toString().trim().split("\n")
  const gcroots = path.join(root, "nix/var/nix/gcroots")
  fs.mkdirSync(gcroots, { recursive: true })
  paths.forEach((p, i) => fs.symlinkSync(p, path.join(gcroots, `expected-${i}`)))
  return paths
}

describe("beside Nix 2.8's collector", () => {
  it.skipIf(!hasNix)("tsnix --add while nix-store --gc loops: every add succeeds and verifies", async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-nixgc-"))
    const root = path.join(work, "root")
    const big = path.join(work, "big")
    makeTree(big, 80, 256 * 1024)
    const smalls = Array.from({ length: 12 }, (_, i) => {
      const d = path.join(work, `small${i}`)
      makeTree(d, 3, 100)
      return d
    })
    const expected = await rootExpected(root, [big, ...smalls])
    expect((await nixAsync(["--store", root, "--init"])).status).toBe(0)
    let done = false
    const gcs = loop(() => nixAsync(["--store", root, "--gc"]), () => done)
    const got: Array<string> = []
    const failures: Array<string> = []
    try {
      for (const src of [big, ...smalls, big]) {
        const r = await ts(root, ["--add", src])
        if (r.status !== 0) failures.push(r.stderr)
        else got.push(r.stdout.toString().trim())
      }
    } finally {
      done = true
    }
    expect(await gcs).toBeGreaterThan(0)
    expect(failures).toEqual([])
    expect(got).toEqual([...expected, expected[0]])
    const v = await nixAsync(["--store", root, "--verify", "--check-contents"])
    expect(v.stderr).not.toContain("modified")
    expect(v.status).toBe(0)
    // No path is lost: every add's path is still valid and present, and every root resolves to it.
    const q = await nixAsync(["--store", root, "--check-validity", "--print-invalid", ...expected])
    expect(q.stdout).toBe("")
    expect(expected.filter((p) => !fs.existsSync(path.join(root, p)))).toEqual([])
    const roots = await nixAsync(["--store", root, "--gc", "--print-roots"])
    for (const p of expected) expect(roots.stdout).toContain(p)
  }, 240_000)

  it.skipIf(!hasNix)("nix-store --add of a large tree while tsnix --gc loops: Nix's path verifies", async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-nixgc-"))
    const root = path.join(work, "root")
    const big = path.join(work, "big")
    // Larger than Nix's 32 MiB NAR buffer: Nix copies it through add-<pid>-<n> in the store directory.
    makeTree(big, 72, 512 * 1024)
    const [expected] = await rootExpected(root, [big])
    expect((await nixAsync(["--store", root, "--init"])).status).toBe(0)
    let done = false
    const gcs = loop(() => ts(root, ["--gc"]), () => done)
    let add: Awaited<ReturnType<typeof nixAsync>>
    try {
      add = await nixAsync(["--store", root, "--add", big])
    } finally {
      done = true
    }
    expect(await gcs).toBeGreaterThan(0)
    expect(add.stderr).toBe("")
    expect(add.stdout.trim()).toBe(expected)
    const v = await nixAsync(["--store", root, "--verify", "--check-contents"])
    expect(v.stderr).not.toContain("modified")
    expect(v.status).toBe(0)
  }, 240_000)
})
