/**
 * File names as bytes through the CLI, against Nix 2.8 (golden/names): a tree
 * whose names and symlink targets are not valid UTF-8 goes through --add,
 * --add-fixed --recursive, -q --hash/--size, --dump, --export, --restore,
 * --import, --verify --check-contents, --delete and --gc; a failed add and a
 * leftover temporary do not break later collections. Also the flat
 * --add-fixed of executable files, for every algorithm.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { encodeNar } from "../../src/core/nar/encode.js"
import { tempPrefix } from "../../src/stores/local/ops/tempPath.js"
import { readTree } from "../io/helpers.js"
import {
  flatAdds,
  flatSource,
  hexToNarTree,
  materializeNamesTree,
  namesBytes,
  namesDir,
  namesTree,
  namesTreeFacts
} from "../stores/local/ops/namesGolden.js"
import { runTsnixBatch } from "./cliBatch.js"
import { runTsnix } from "./helpers.js"

let dir = ""

const hasNix = spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const nixStore = (root: string, args: ReadonlyArray<string>) =>
  spawnSync("nix-store", ["--store", root, ...args], {
    env: { ...process.env, NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group =" },
    maxBuffer: 1 << 26
  })

/** The store directory's entries (hex), without `.links`, which every store has (as Nix's). */
const entriesHex = (realStoreDir: string): Array<string> =>
  fs.readdirSync(realStoreDir, { encoding: "buffer" }).filter((b) => b.toString("latin1") !== ".links")
    .map((b) => b.toString("hex")).sort()

const hex = (s: string) => Buffer.from(s, "latin1").toString("hex")
/** A pid no process has (above any pid_max). */
const deadPid = 2 ** 30 + 7

describe("names as bytes through the CLI (golden/names)", () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-names-cli-"))
  })
  afterAll(() => {
    // Store objects are read-only, and one test leaves a tree deeper than PATH_MAX: GNU rm copes.
    execFileSync("chmod", ["-R", "u+w", dir])
    execFileSync("rm", ["-rf", dir])
  })

  it("add, add-fixed, queries, dump, export, restore, import, verify, delete and gc keep every name", async () => {
    const tree = path.join(dir, "tree")
    materializeNamesTree(tree)
    const store = path.join(dir, "s")
    const add = namesTreeFacts["add"] as string
    const sha1 = namesTreeFacts["fixed-sha1"] as string
    const restored = path.join(dir, "restored")
    const r = await runTsnixBatch([
      ["--store", store, "--add", tree],
      ["--store", store, "--add-fixed", "--recursive", "sha256", tree],
      ["--store", store, "--add-fixed", "--recursive", "sha1", tree],
      ["--store", store, "-q", "--hash", add, sha1],
      ["--store", store, "-q", "--size", add, sha1],
      ["--dump", tree],
      ["--dump", path.join(store, add)],
      ["--store", store, "--export", add],
      ["--store", store, "--verify", "--check-contents"],
      { args: ["--restore", restored], stdinFile: path.join(namesDir, "tree.nar") },
      { args: ["--store", path.join(dir, "s2"), "--import"], stdinFile: path.join(namesDir, "tree-export.nar") },
      ["--dump", path.join(dir, "s2", add)],
      ["--store", path.join(dir, "s2"), "--verify-path", add],
      ["--store", store, "--delete", sha1],
      ["--store", store, "--gc"],
      ["--store", path.join(dir, "s2"), "--gc"]
    ])
    const ok = r.map((x) => ({
      status: x.status,
      stderr: x.stderr.split("\n").filter((l) => l.startsWith("error") || l.startsWith("warning"))
    }))
    expect(ok).toEqual(r.map(() => ({ status: 0, stderr: [] })))
    const out = r.map((x) => x.stdout)
    const f = namesTreeFacts
    expect(out.slice(0, 3).map((b) => b.toString())).toEqual([`${add}\n`, `${f["fixed-sha256"]}\n`, `${sha1}\n`])
    expect(out[3]?.toString()).toBe(`${f["add.hash"]}\n${f["fixed-sha1.hash"]}\n`)
    expect(out[4]?.toString()).toBe(`${f["add.size"]}\n${f["fixed-sha1.size"]}\n`)
    const nar = namesBytes("tree.nar")
    // Nix's bytes are the pure encoder's bytes for the same tree (the spec).
    expect(Buffer.from(encodeNar(hexToNarTree(namesTree))).equals(nar)).toBe(true)
    expect(out[5]?.equals(nar)).toBe(true)
    expect(out[6]?.equals(nar)).toBe(true)
    expect(out[7]?.equals(namesBytes("tree-export.nar"))).toBe(true)
    expect(Buffer.from(encodeNar(readTree(restored))).equals(nar)).toBe(true)
    expect(out[10]?.toString()).toBe(`${add}\n`)
    expect(out[11]?.equals(nar)).toBe(true)
    expect(out[13]?.toString()).toMatch(/^1 store paths deleted, /)
    expect(r[13]?.stderr).toContain(`deleting '${sha1}'`)
    expect(r[14]?.stderr).toContain(`deleting '${add}'`)
    expect(r[15]?.stderr).toContain(`deleting '${add}'`)
    for (const s of [store, path.join(dir, "s2")]) expect(entriesHex(path.join(s, "nix/store"))).toEqual([])
  }, 60_000)

  it(
    "a failed add leaves no temporary; leftovers with any names (or too deep to remove) do not break --gc",
    async () => {
      const store = path.join(dir, "gc")
      const real = path.join(store, "nix/store")
      fs.mkdirSync(path.join(dir, "with-fifo"))
      const tree = path.join(dir, "with-fifo", "tree")
      materializeNamesTree(tree)
      execFileSync("mkfifo", [path.join(tree, "fifo")])
      const failed = await runTsnix(["--store", store, "--add", tree])
      expect(failed.status).toBe(1)
      expect(failed.stderr).toContain("fifo")
      expect(entriesHex(real).filter((n) => !n.endsWith(hex(".lock")))).toEqual([])
      // Leftovers of a dead process: a canonicalised (read-only) temporary holding the tree, a stray
      // entry whose name is not UTF-8, and a temporary too deep for any path-based removal.
      const temp = path.join(real, `${tempPrefix}${deadPid}-aaaa`)
      materializeNamesTree(temp)
      execFileSync("chmod", ["-R", "a-w", temp])
      const stray = Buffer.concat([Buffer.from(`${real}/`), Buffer.from("ff2d6a756e6b80", "hex")])
      materializeNamesTree(stray)
      const deep = `${tempPrefix}${deadPid}-deep`
      execFileSync("bash", [
        "-c",
        `cd "$1" && mkdir "$2" && cd "$2" && for i in $(seq 90); do mkdir ${"d".repeat(60)} && cd ${
          "d".repeat(60)
        }; done`,
        "-",
        real,
        deep
      ])
      const gc1 = await runTsnix(["--store", store, "--gc"])
      expect(gc1.status).toBe(0)
      expect(gc1.stderr).toMatch(new RegExp(`warning: could not delete '/nix/store/${deep}'`))
      expect(gc1.stderr).toContain(`deleting '/nix/store/${tempPrefix}${deadPid}-aaaa'`)
      // Only the deep leftover remains; the next collection still succeeds.
      expect(entriesHex(real).filter((n) => !n.endsWith(hex(".lock")))).toEqual([hex(deep)])
      const gc2 = await runTsnix(["--store", store, "--gc"])
      expect(gc2.status).toBe(0)
      expect(gc2.stdout.toString()).toMatch(/^0 store paths deleted/)
      // The add works once the FIFO is gone.
      fs.rmSync(path.join(tree, "fifo"))
      expect((await runTsnix(["--store", store, "--add", tree])).stdout.toString()).toBe(`${namesTreeFacts["add"]}\n`)
    },
    60_000
  )

  it("--add-fixed ALGO FILE keeps the execute bit: Nix's hash, size, mode and export for every algorithm", async () => {
    const src = path.join(dir, "flat")
    fs.mkdirSync(src)
    for (const [kind, mode] of Object.entries(flatSource.modes)) {
      fs.writeFileSync(path.join(src, kind), flatSource.contents)
      fs.chmodSync(path.join(src, kind), mode)
    }
    const store = path.join(dir, "flat-store")
    const r = await runTsnixBatch(flatAdds.flatMap((g) => [
      ["--store", store, "--add-fixed", g.algo, path.join(src, g.kind)],
      ["--store", store, "-q", "--hash", g.path],
      ["--store", store, "-q", "--size", g.path],
      ["--store", store, "--export", g.path]
    ]))
    flatAdds.forEach((g, i) => {
      const what = `${g.algo} ${g.kind}`
      const [added, hash, size, exp] = r.slice(4 * i, 4 * i + 4)
      expect(added?.stdout.toString(), what).toBe(`${g.path}\n`)
      expect(hash?.stdout.toString(), what).toBe(`${g.narHash}\n`)
      expect(size?.stdout.toString(), what).toBe(`${g.narSize}\n`)
      expect(exp?.stdout.equals(g.exportBytes), what).toBe(true)
      expect((fs.statSync(path.join(store, g.path)).mode & 0o7777).toString(8), what).toBe(g.mode)
    })
  }, 60_000)

  it.skipIf(!hasNix)(
    "Nix 2.8 reads such a tsnix store: --verify --check-contents passes, same hashes, same dump (live, needs nix-store)",
    async () => {
      const src = path.join(dir, "for-nix")
      fs.mkdirSync(src)
      materializeNamesTree(path.join(src, "tree"))
      fs.writeFileSync(path.join(src, "exe"), flatSource.contents, { mode: 0o755 })
      const store = path.join(dir, "for-nix-store")
      const [add, flat] = await runTsnixBatch([
        ["--store", store, "--add", path.join(src, "tree")],
        ["--store", store, "--add-fixed", "sha1", path.join(src, "exe")]
      ])
      const tree = add?.stdout.toString().trim() as string
      const exe = flat?.stdout.toString().trim() as string
      const verify = nixStore(store, ["--verify", "--check-contents"])
      // Nothing but Nix's progress lines.
      const complaints = verify.stderr.toString().split("\n").filter((l) =>
        l !== "" && !/^(reading the Nix store|checking )/.test(l)
      )
      expect({ status: verify.status, complaints }).toEqual({ status: 0, complaints: [] })
      expect(nixStore(store, ["-q", "--hash", tree, exe]).stdout.toString()).toBe(
        `${namesTreeFacts["add.hash"]}\n${flatAdds.find((g) => g.algo === "sha1" && g.kind === "exe")?.narHash}\n`
      )
      expect(nixStore(store, ["--dump", path.join(store, tree)]).stdout.equals(namesBytes("tree.nar"))).toBe(true)
    },
    60_000
  )
})
