/**
 * Optimised stores shared with Nix 2.8 itself: a store tsnix optimised (and
 * one added to with auto-optimise-store) passes `nix-store --verify
 * --check-contents` and leaves Nix's `--optimise` nothing to link (same
 * `.links` names, same sharing); a store Nix optimised passes tsnix's and
 * leaves tsnix's `--optimise` nothing either; a collection by either deletes
 * the links the other made unused. Needs nix-store; SKIPPED without it (CI).
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describeStore, makeInputs } from "../stores/local/ops/optimiseGolden.js"
import { runTsnix } from "./helpers.js"

const hasNix = spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const nixEnv = {
  ...process.env,
  NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters ="
}
const nix = (root: string, args: ReadonlyArray<string>, cwd?: string) => {
  const r = spawnSync("nix-store", ["--store", root, ...args], { env: nixEnv, cwd, maxBuffer: 1 << 26 })
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() }
}
const ts = (root: string, args: ReadonlyArray<string>, cwd?: string) =>
  runTsnix(["--store", root, "--option", "gc-runtime-roots", "false", ...args], cwd === undefined ? {} : { cwd })
const clean =
  "reading the Nix store...\nchecking path existence...\nchecking link hashes...\nchecking store hashes...\n"

let work = ""
afterEach(() => {
  if (work !== "") {
    execFileSync("chmod", ["-R", "u+w", work])
    fs.rmSync(work, { recursive: true, force: true })
  }
})

describe("optimised stores shared with Nix 2.8", () => {
  it.skipIf(!hasNix)("tsnix's links are Nix's links, both ways", async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-optimise-nix-"))
    const inputs = path.join(work, "in")
    const main = makeInputs("main", inputs)
    const auto = makeInputs("auto", path.join(work, "in-auto"))
    // tsnix optimises; Nix checks.
    const t = path.join(work, "t")
    expect((await ts(t, ["--add", ...main], inputs)).status).toBe(0)
    expect((await ts(t, ["--optimise"])).stderr).toMatch(/freed by hard-linking 9 files/)
    expect(
      (await ts(t, ["--option", "auto-optimise-store", "true", "--add", ...auto], path.join(work, "in-auto"))).status
    ).toBe(0)
    expect(nix(t, ["--verify", "--check-contents"])).toMatchObject({ status: 0, stderr: clean })
    expect(nix(t, ["--optimise"]).stderr).toBe("0.00 MiB freed by hard-linking 0 files\n")
    // Nix optimises; tsnix checks; the two stores are alike.
    const n = path.join(work, "n")
    expect(nix(n, ["--add", ...main], inputs).status).toBe(0)
    nix(n, ["--optimise"])
    expect(nix(n, ["--option", "auto-optimise-store", "true", "--add", ...auto], path.join(work, "in-auto")).status)
      .toBe(0)
    const v = await ts(n, ["--verify", "--check-contents"])
    expect({ status: v.status, stderr: v.stderr }).toEqual({ status: 0, stderr: clean })
    expect((await ts(n, ["--optimise"])).stderr).toBe("0.00 MiB freed by hard-linking 0 files\n")
    const shape = (root: string) => ({ ...describeStore(path.join(root, "nix/store")), linksDirBlocks: 0 })
    expect(shape(t)).toEqual(shape(n))
    // Nix collects in tsnix's store, tsnix in Nix's: the same links remain.
    fs.mkdirSync(path.join(t, "nix/var/nix/gcroots"), { recursive: true })
    fs.mkdirSync(path.join(n, "nix/var/nix/gcroots"), { recursive: true })
    const a = (await ts(t, ["--add", main[0] as string], inputs)).stdout.toString().trim()
    fs.symlinkSync(a, path.join(t, "nix/var/nix/gcroots/a"))
    fs.symlinkSync(a, path.join(n, "nix/var/nix/gcroots/a"))
    expect(nix(t, ["--gc"]).status).toBe(0)
    const g = await ts(n, ["--gc"])
    expect(g.status, g.stderr).toBe(0)
    expect(shape(t)).toEqual(shape(n))
    expect(nix(n, ["--verify", "--check-contents"])).toMatchObject({ status: 0, stderr: clean })
    const v2 = await ts(t, ["--verify", "--check-contents"])
    expect({ status: v2.status, stderr: v2.stderr }).toEqual({ status: 0, stderr: clean })
  })
})
