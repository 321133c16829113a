/**
 * A store written by tsnix, checked by Nix 2.8 itself: `nix-store --verify
 * --check-contents` passes and nix-store answers every recorded query as
 * tsnix does. Needs nix-store (nix-bin); SKIPPED when it is not installed
 * (CI). The manual check is described in docs/INTEROP.md.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { goldenAll, goldenBytes, goldenQueries, goldenStoreDir } from "../stores/local/ops/golden.js"
import { runTsnixBatch } from "./cliBatch.js"

const hasNix = spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const nixEnv = {
  ...process.env,
  NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group ="
}
const nixStore = (root: string, args: ReadonlyArray<string>) =>
  spawnSync("nix-store", ["--store", root, ...args], { env: nixEnv, maxBuffer: 1 << 26 })

const roots: Array<string> = []
afterAll(() => {
  for (const r of roots) {
    execFileSync("chmod", ["-R", "u+w", r])
    fs.rmSync(r, { recursive: true, force: true })
  }
})

describe("a store written by tsnix, read by Nix 2.8", () => {
  it.skipIf(!hasNix)("passes nix-store --verify --check-contents and answers the same queries", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-for-nix-"))
    const src = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-for-nix-src-"))
    roots.push(root, src)
    fs.mkdirSync(path.join(src, "tree", "sub"), { recursive: true })
    fs.writeFileSync(path.join(src, "tree", "a"), "a\n")
    fs.writeFileSync(path.join(src, "tree", "sub", "x"), "#!/bin/sh\n", { mode: 0o755 })
    fs.symlinkSync("a", path.join(src, "tree", "l"))
    const [imp, add, addFixed] = await runTsnixBatch([
      { args: ["--store", root, "--import"], stdinFile: path.join(goldenStoreDir, "export.nar") },
      ["--store", root, "--add", path.join(src, "tree")],
      ["--store", root, "--add-fixed", "--recursive", "sha512", path.join(src, "tree")]
    ])
    for (const r of [imp, add, addFixed]) {
      expect({ status: r?.status, stderr: r?.stderr }).toEqual({ status: 0, stderr: "" })
    }
    const verify = nixStore(root, ["--verify", "--check-contents"])
    expect({ status: verify.status, stderr: verify.stderr.toString().replace(/^(reading|checking).*\n/gm, "") })
      .toEqual({ status: 0, stderr: "" })
    const ours = await runTsnixBatch([
      ...goldenQueries.map((q) => ["--store", root, ...q.args]),
      ["--store", root, "--dump-db"]
    ])
    goldenQueries.forEach((q, i) => {
      const theirs = nixStore(root, q.args)
      expect({ name: q.name, out: theirs.stdout.toString() }).toEqual({ name: q.name, out: ours[i]?.stdout.toString() })
    })
    expect(nixStore(root, ["--dump-db"]).stdout.toString()).toBe(ours[goldenQueries.length]?.stdout.toString())
    expect(nixStore(root, ["--export", ...goldenAll]).stdout.equals(goldenBytes("export.nar"))).toBe(true)
  }, 120_000)
})
