/**
 * nix-store interop through the CLI: Nix 2.8's export stream imported into a
 * fresh tsnix store answers every recorded query byte for byte, exports back
 * byte-identically, and fails like Nix (message and status) on the recorded
 * error cases. Goldens: golden/store/generate.sh.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { goldenAll, goldenBytes, goldenError, goldenPaths, goldenQueries, goldenStoreDir, goldenText } from "../store/golden.js"
import { runTsnixBatch } from "./cliBatch.js"

let root = ""

const rmStore = (dir: string) => {
  if (!fs.existsSync(dir)) return
  const walk = (p: string) => {
    const st = fs.lstatSync(p)
    if (st.isDirectory()) {
      fs.chmodSync(p, 0o755)
      for (const e of fs.readdirSync(p)) walk(path.join(p, e))
    }
  }
  walk(dir)
  fs.rmSync(dir, { recursive: true, force: true })
}

/** Strips Nix's progress lines that tsnix does not print, keeping messages. */
const messages = (stderr: string) =>
  stderr.split("\n").filter((l) => l !== "" && !/^(reading the Nix store|checking |finding garbage)/.test(l))

describe("nix-store interop (golden/store)", () => {
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-store-cli-"))
  })
  afterAll(() => rmStore(root))

  it("answers every recorded query, exports byte-identically, fails like Nix", async () => {
    const queries = goldenQueries.map((q) => ["--store", root, ...q.args])
    const reversed = [...goldenAll].reverse()
    const errors = ["check-validity-invalid", "references-short"].map(goldenError)
    const [r, ...results] = await runTsnixBatch([
      { args: ["--store", root, "--import"], stdinFile: path.join(goldenStoreDir, "export.nar") },
      ...queries,
      ["--store", root, "--dump-db"],
      ["--store", root, "--export", ...goldenAll],
      ["--store", root, "--export", ...reversed],
      ["--store", root, "--export", goldenPaths["top"] as string],
      ["--store", root, "--verify", "--check-contents"],
      ...errors.map((e) => ["--store", root, ...e.args])
    ])
    if (r === undefined) throw new Error("no result")
    expect(r.stderr).toBe("")
    expect(r.status).toBe(0)
    // Imported paths are printed in stream order, which is a topological order of all of them.
    expect([...r.stdout.toString().trim().split("\n")].sort()).toEqual(goldenAll)
    goldenQueries.forEach((q, i) => {
      const r = results[i]
      expect({ name: q.name, status: r?.status, stderr: r?.stderr, stdout: r?.stdout.toString("utf8") })
        .toEqual({ name: q.name, status: 0, stderr: "", stdout: q.stdout.toString("utf8") })
    })
    const rest = results.slice(goldenQueries.length)
    expect(rest[0]?.stdout.toString()).toBe(goldenText("dump-db.txt"))
    expect(rest[1]?.stdout.equals(goldenBytes("export.nar"))).toBe(true)
    expect(rest[2]?.stdout.equals(goldenBytes("export-rev.nar"))).toBe(true)
    expect(rest[3]?.stdout.equals(goldenBytes("export-top.nar"))).toBe(true)
    expect(rest[4]?.status).toBe(0)
    errors.forEach((e, i) => {
      const r = rest[5 + i]
      expect({ name: e.name, status: r?.status, stderr: r?.stderr, stdout: r?.stdout.toString() })
        .toEqual({ name: e.name, status: e.status, stderr: e.stderr, stdout: e.stdout.toString() })
    })
  }, 30_000)

  it("refuses to export a path modified after registration, and verify reports it, as Nix", async () => {
    const hello = goldenPaths["hello"] as string
    const real = path.join(root, hello)
    fs.chmodSync(real, 0o644)
    fs.writeFileSync(real, "HELLO\n")
    const cases = ["export-modified", "verify-path-modified", "verify-check-contents"].map(goldenError)
    const results = await runTsnixBatch(cases.map((c) => ["--store", root, ...c.args]))
    cases.forEach((c, i) => {
      const r = results[i]
      expect({ name: c.name, status: r?.status, stderr: messages(r?.stderr ?? "") })
        .toEqual({ name: c.name, status: c.status, stderr: messages(c.stderr ?? "") })
    })
    // export-modified wrote nothing but a partial stream prefix at most; it must not end in a complete export.
    expect(results[0]?.stdout.equals(goldenBytes("export-top.nar"))).toBe(false)
  }, 30_000)
})
