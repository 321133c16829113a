/**
 * `tsnix copy` and `nix copy` (Nix 2.8) through file:// binary caches, both
 * ways, for every compression, with signatures checked on both sides; the
 * same key gives tsnix's narinfos Nix's Sig lines; unsigned or wrongly
 * signed paths are refused with nothing registered. Needs nix (nix-bin);
 * SKIPPED when it is not installed (CI); the goldens of golden/cache cover
 * the formats without Nix (test/core/cache, test/stores/binaryCache).
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runTsnix } from "./helpers.js"

const hasNix = spawnSync("nix", ["--version"], { stdio: "ignore" }).status === 0
const conf =
  "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ="
const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/cache")
const sk = path.join(golden, "keys/test-1.sec")
const pub = fs.readFileSync(path.join(golden, "keys/test-1.pub"), "utf8")

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) {
    spawnSync("chmod", ["-R", "u+w", d])
    fs.rmSync(d, { recursive: true, force: true })
  }
})

const nix = (args: ReadonlyArray<string>) =>
  spawnSync("nix", args, {
    env: { ...process.env, NIX_CONFIG: conf, XDG_CACHE_HOME: path.join(os.tmpdir(), "tsnix-xdg") },
    encoding: "utf8"
  })
const tsnix = (args: ReadonlyArray<string>) => runTsnix(args, { env: { NIX_CONFIG: conf } })

describe("tsnix copy and nix copy through file:// caches", () => {
  // One store made by tsnix for every compression (made on first use).
  let made: Promise<{ tmp: string; s0: string; top: string; closure: Array<string> }> | undefined
  const setup = () => (made ??= (async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-cache-nix-"))
    dirs.push(tmp)
    // A closure made by tsnix: a large file (several bzip2 blocks), a tree, a text path referring to both.
    const big = path.join(tmp, "big")
    const bytes = Buffer.alloc(1_000_000)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 10)) & 0xff
    fs.writeFileSync(big, bytes)
    fs.mkdirSync(path.join(tmp, "tree", "sub"), { recursive: true })
    fs.writeFileSync(path.join(tmp, "tree", "sub", "run"), "#!/bin/sh\n", { mode: 0o755 })
    fs.symlinkSync("sub/run", path.join(tmp, "tree", "link"))
    const s0 = path.join(tmp, "s0")
    const add = await tsnix(["--store", s0, "--add", big, path.join(tmp, "tree")])
    expect(add.stderr).toBe("")
    const [bigP, treeP] = add.stdout.toString().trim().split("\n") as [string, string]
    // The top: a text path referring to both (builtins.toFile through nix-instantiate).
    fs.writeFileSync(
      path.join(tmp, "e.nix"),
      `builtins.toFile "top" "\${builtins.storePath "${bigP}"} \${builtins.storePath "${treeP}"}"`
    )
    const top = execFileSync(
      "nix-instantiate",
      ["--store", s0, "--eval", "--read-write-mode", path.join(tmp, "e.nix")],
      {
        env: { ...process.env, NIX_CONFIG: conf },
        encoding: "utf8"
      }
    ).trim().replace(/"/g, "")
    const closure = [bigP, treeP, top].sort()
    return { tmp, s0, top, closure }
  })())

  for (const c of ["xz", "zstd", "bzip2", "none", "br", "gzip"]) {
    it.skipIf(!hasNix)(`${c}: both ways, signatures checked both ways, Nix's Sig bytes`, async () => {
      const { closure, s0, tmp, top } = await setup()
      // tsnix → cache → nix (nix checks the signature tsnix made)
      const c1 = `file://${tmp}/t-${c}?compression=${c}&secret-key=${sk}&write-nar-listing=1`
      const r1 = await tsnix(["copy", "--store", s0, "--to", c1, top])
      expect(r1.status, r1.stderr).toBe(0)
      const n1 = path.join(tmp, `n-${c}`)
      const r2 = nix([
        "copy",
        "--store",
        n1,
        "--option",
        "trusted-public-keys",
        pub,
        "--from",
        `file://${tmp}/t-${c}`,
        top
      ])
      expect(r2.status, `${c}: ${r2.stderr}`).toBe(0)
      const v = spawnSync("nix-store", ["--store", n1, "--verify-path", ...closure], {
        env: { ...process.env, NIX_CONFIG: conf },
        encoding: "utf8"
      })
      expect(v.status, `${c} nix verify: ${v.stderr}`).toBe(0)
      // nix → cache (same key) → tsnix (tsnix checks Nix's signature)
      const r3 = nix([
        "copy",
        "--store",
        n1,
        "--to",
        `file://${tmp}/n-${c}-cache?compression=${c}&secret-key=${sk}`,
        top
      ])
      expect(r3.status, r3.stderr).toBe(0)
      const s1 = path.join(tmp, `s-${c}`)
      const r4 = await tsnix([
        "copy",
        "--store",
        s1,
        "--option",
        "trusted-public-keys",
        pub,
        "--from",
        `file://${tmp}/n-${c}-cache`,
        top
      ])
      expect(r4.status, `${c}: ${r4.stderr}`).toBe(0)
      const v2 = await tsnix(["--store", s1, "--verify-path", ...closure])
      expect(v2.status, `${c} tsnix verify: ${v2.stderr}`).toBe(0)
      // Same key: the Sig lines are the same bytes.
      for (const p of closure) {
        const f = `${path.basename(p).slice(0, 32)}.narinfo`
        const sig = (d: string) =>
          fs.readFileSync(path.join(tmp, d, f), "utf8").split("\n").filter((l) => l.startsWith("Sig: "))
        expect(sig(`t-${c}`), `${c} ${f}`).toEqual(sig(`n-${c}-cache`))
        expect(sig(`t-${c}`).length).toBe(1)
      }
    }, 40_000)
  }

  it.skipIf(!hasNix)("unsigned or wrongly signed input-addressed paths are refused, nothing registered", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-cache-nix-bad-"))
    dirs.push(tmp)
    const out = fs.readFileSync(path.join(golden, "paths.txt"), "utf8").match(/^out=(.*)$/m)![1]!
    const expected = fs.readFileSync(path.join(golden, "errors/unsigned.err"), "utf8").trim().split("\n").at(-1)!
    const s1 = path.join(tmp, "s1")
    const r = await tsnix([
      "copy",
      "--store",
      s1,
      "--option",
      "trusted-public-keys",
      pub,
      "--from",
      `file://${golden}/unsigned`,
      out
    ])
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split("\n").at(-1)).toBe(expected)
    // untrusted key (the default cache.nixos.org key only)
    const r2 = await tsnix(["copy", "--store", path.join(tmp, "s2"), "--from", `file://${golden}/none`, out])
    expect(r2.stderr.trim().split("\n").at(-1)).toBe(expected)
    for (const s of [s1, path.join(tmp, "s2")]) {
      const q = await tsnix(["--store", s, "--check-validity", out])
      expect(q.status).toBe(1)
    }
    // --no-check-sigs takes it
    const r3 = await tsnix(["copy", "--store", s1, "--no-check-sigs", "--from", `file://${golden}/unsigned`, out])
    expect(r3.status, r3.stderr).toBe(0)
  }, 30_000)
})
