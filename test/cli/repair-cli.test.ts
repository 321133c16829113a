/**
 * `--repair-path` and `--verify --check-contents --repair` against Nix 2.8's
 * goldens (golden/repair/generate.sh): the same store path, damaged the same
 * way, repaired from a file:// cache that tsnix wrote; the same messages, in
 * the same order, and exit statuses. Without a substituter: Nix's "cannot
 * repair path" error. A repair from a cache whose NAR is not the path's
 * leaves the damaged files as they were (and nothing else in the store).
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runTsnix } from "./helpers.js"

const golden = path.resolve(import.meta.dirname, "../../golden/repair")
const read = (name: string) => fs.readFileSync(path.join(golden, name), "utf8")
const P = read("path.txt").trim()

const setUp = async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-repair-"))
  const root = path.join(work, "root")
  fs.mkdirSync(path.join(work, "tree"))
  fs.writeFileSync(path.join(work, "tree", "a"), "a\n")
  fs.writeFileSync(path.join(work, "tree", "b"), "b\n")
  const add = await runTsnix(["--store", root, "--add", path.join(work, "tree")])
  expect(add.stdout.toString().trim()).toBe(P)
  const cache = `file://${work}/cache`
  const copy = await runTsnix(["--store", root, "copy", "--to", cache, P])
  expect(copy.status).toBe(0)
  const real = path.join(root, P)
  const damage = (file: string) => {
    fs.chmodSync(real, 0o755)
    fs.chmodSync(path.join(real, file), 0o644)
    fs.writeFileSync(path.join(real, file), "damaged\n")
    fs.chmodSync(path.join(real, file), 0o444)
    fs.chmodSync(real, 0o555)
  }
  const run = async (args: ReadonlyArray<string>, withCache: boolean) => {
    const r = await runTsnix(["--store", root, ...args], {
      env: { NIX_CONFIG: withCache ? `substituters = ${cache}\nrequire-sigs = false` : "substituters =" }
    })
    return { status: r.status, stderr: r.stderr.split(cache).join("CACHE") }
  }
  const cleanUp = () => {
    fs.chmodSync(real, 0o755)
    fs.rmSync(work, { recursive: true, force: true })
  }
  return { work, root, real, cache, damage, run, cleanUp }
}

const expectGolden = (r: { status: number | null; stderr: string }, name: string) => {
  expect(r.stderr).toBe(read(`${name}.stderr`))
  expect(r.status).toBe(Number(read(`${name}.status`)))
}

describe("--repair-path and --verify --repair (Nix 2.8 goldens)", () => {
  it("repairs a damaged path from the substituter as Nix does; without one, Nix's error", async () => {
    const s = await setUp()
    try {
      s.damage("a")
      expectGolden(await s.run(["--repair-path", P], false), "repair-path-nosub")
      expect(fs.readFileSync(path.join(s.real, "a"), "utf8")).toBe("damaged\n")
      expectGolden(await s.run(["--verify", "--check-contents", "--repair"], false), "verify-repair-nosub")
      expectGolden(await s.run(["--repair-path", P], true), "repair-path")
      expect(fs.readFileSync(path.join(s.real, "a"), "utf8")).toBe("a\n")
      s.damage("b")
      expectGolden(await s.run(["--verify", "--check-contents", "--repair"], true), "verify-repair")
      expect(fs.readFileSync(path.join(s.real, "b"), "utf8")).toBe("b\n")
      expectGolden(await s.run(["--repair-path", P], true), "repair-path-intact")
      expectGolden(await s.run(["--verify", "--check-contents"], false), "verify-after")
      // the repaired files are canonical (read-only, mtime 1), and nothing was left beside the path
      const st = fs.statSync(path.join(s.real, "a"))
      expect(st.mode & 0o222).toBe(0)
      expect(st.mtimeMs).toBe(1000)
      const entries = fs.readdirSync(path.join(s.root, "nix/store")).filter((e) =>
        !e.endsWith(".lock") && e !== ".links"
      )
      expect(entries).toEqual([path.basename(P)])
    } finally {
      s.cleanUp()
    }
  }, 60_000)

  it("a substitute whose NAR is truncated is refused; the damaged files stay, nothing is left behind", async () => {
    const s = await setUp()
    try {
      // the cache's NAR of P cut in half (its narinfo still names the registered hash)
      const narinfo = fs.readFileSync(path.join(s.work, "cache", `${path.basename(P).slice(0, 32)}.narinfo`), "utf8")
      const url = /^URL: (.*)$/m.exec(narinfo)?.[1] as string
      const nar = path.join(s.work, "cache", url)
      const bytes = fs.readFileSync(nar)
      fs.writeFileSync(nar, bytes.subarray(0, Math.floor(bytes.length / 2))) // truncated
      s.damage("a")
      const r = await s.run(["--repair-path", P], true)
      expect(r.status).toBe(1)
      expect(r.stderr).toContain(`error: cannot repair path '${P}'`)
      expect(fs.readFileSync(path.join(s.real, "a"), "utf8")).toBe("damaged\n")
      const entries = fs.readdirSync(path.join(s.root, "nix/store")).filter((e) =>
        !e.endsWith(".lock") && e !== ".links"
      )
      expect(entries).toEqual([path.basename(P)])
    } finally {
      s.cleanUp()
    }
  }, 60_000)
})
