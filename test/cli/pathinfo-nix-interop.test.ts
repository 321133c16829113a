/**
 * `nix path-info` (Nix 2.8) and `tsnix path-info` on the same store written
 * by tsnix (paths it added, content-addressed ones, text paths, a derivation
 * and its outputs): the same stdout, byte for byte, so tsnix's own rows carry
 * what Nix's would. Needs nix (nix-bin); SKIPPED when it is not installed (CI).
 * The goldens of golden/pathinfo cover the same output without Nix.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runTsnixBatch } from "./cliBatch.js"

const hasNix = spawnSync("nix", ["--version"], { stdio: "ignore" }).status === 0
const nixEnv = {
  ...process.env,
  NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters ="
}
const storeNar = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/store/export.nar")

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) {
    execFileSync("chmod", ["-R", "u+w", d])
    fs.rmSync(d, { recursive: true, force: true })
  }
})

describe("tsnix path-info and nix path-info on a store tsnix wrote", () => {
  it.skipIf(!hasNix)("print the same", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-pathinfo-nix-"))
    dirs.push(tmp)
    const root = path.join(tmp, "root")
    fs.mkdirSync(path.join(tmp, "tree", "sub"), { recursive: true })
    fs.writeFileSync(path.join(tmp, "tree", "a"), "a\n")
    fs.writeFileSync(path.join(tmp, "tree", "sub", "x"), "#!/bin/sh\n", { mode: 0o755 })
    fs.writeFileSync(path.join(tmp, "file"), "x".repeat(3000))
    const setup = await runTsnixBatch([
      { args: ["--store", root, "--import"], stdinFile: storeNar },
      ["--store", root, "--add", path.join(tmp, "tree")],
      ["--store", root, "--add-fixed", "sha1", path.join(tmp, "file")],
      ["--store", root, "--add-fixed", "--recursive", "sha512", path.join(tmp, "tree")]
    ])
    for (const r of setup) expect(r.status, r.stderr).toBe(0)
    const added = setup.slice(1).map((r) => r.stdout.toString().trim())
    const all = fs.readdirSync(path.join(root, "nix/store")).filter((n) => /^[0-9a-z]{32}-/.test(n))
      .map((n) => `/nix/store/${n}`)
    const drv = all.find((p) => p.endsWith("-app.drv")) as string
    const argLists = [
      ["--json", ...all],
      ["--json", "-r", "-S", ...added],
      ["-rsS", "--sigs", ...all],
      ["-s", "-h", ...added],
      ["--derivation", "--json", drv],
      ["-r", "--derivation", drv]
    ]
    const ours = await runTsnixBatch(argLists.map((a) => ["--store", root, "path-info", ...a]))
    argLists.forEach((args, i) => {
      const nix = spawnSync("nix", ["--store", root, "path-info", ...args], { env: nixEnv, cwd: tmp })
      expect({ args, status: ours[i]?.status, stdout: ours[i]?.stdout.toString() })
        .toEqual({ args, status: nix.status, stdout: nix.stdout.toString() })
    })
  })
})
