/**
 * `tsnix path-info` against the goldens of golden/pathinfo (golden/pathinfo/generate.sh):
 * Nix 2.8's `nix path-info` runs, replayed with tsnix on the same store.
 * The store is golden/pathinfo/store.nar imported with tsnix; what an export
 * stream cannot carry (registration times, the ultimate flag, signatures,
 * content addresses) is copied from Nix's database (meta.txt) into tsnix's.
 * stdout, stderr and the exit status must be Nix's.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { formatSize } from "../../src/cli/ops/pathInfo.js"
import { runTsnixBatch } from "./cliBatch.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/pathinfo")
const read = (f: string) => fs.readFileSync(path.join(golden, f), "utf8")
const caseNames = read("cases.txt").trim().split("\n")
const cases = caseNames.map((name) => ({
  name,
  args: read(`cases/${name}.args`).replace(/\n$/, "").split("\n"),
  stdout: read(`cases/${name}.stdout`),
  stderr: read(`cases/${name}.stderr`),
  status: Number(read(`cases/${name}.status`).trim())
}))

interface RawDb {
  prepare(sql: string): { run(...params: ReadonlyArray<unknown>): unknown }
  close(): void
}
const openDb = (file: string): RawDb =>
  new (createRequire(import.meta.url)("better-sqlite3") as new(file: string) => RawDb)(file)

describe("tsnix path-info (golden/pathinfo)", () => {
  let tmp = ""
  let root = ""
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-pathinfo-"))
    root = path.join(tmp, "root")
    const [imported] = await runTsnixBatch([{
      args: ["--store", root, "--import"],
      stdinFile: path.join(golden, "store.nar")
    }])
    if (imported?.status !== 0) throw new Error(`import failed: ${imported?.stderr}`)
    const db = openDb(path.join(root, "nix/var/nix/db/db.sqlite"))
    const update = db.prepare(
      "update ValidPaths set registrationTime = ?, ultimate = ?, sigs = ?, ca = ? where path = ?"
    )
    for (const line of read("meta.txt").trim().split("\n")) {
      const [p, time, ultimate, sigs, ca] = line.split("\t")
      update.run(Number(time), Number(ultimate), sigs === "" ? null : sigs, ca === "" ? null : ca, p)
    }
    db.close()
  })
  afterAll(() => {
    if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
  })

  it("prints what nix path-info printed, byte for byte, with Nix's errors and exit statuses", async () => {
    const results = await runTsnixBatch(
      cases.map((c) => ({ args: ["--store", root, "path-info", ...c.args], cwd: tmp }))
    )
    const got = cases.map((c, i) => ({
      name: c.name,
      status: results[i]?.status,
      stdout: results[i]?.stdout.toString("utf8"),
      stderr: results[i]?.stderr
    }))
    const want = cases.map((c) => ({ name: c.name, status: c.status, stdout: c.stdout, stderr: c.stderr }))
    expect(got).toEqual(want)
  })

  it("refuses flags nix path-info does not have, and --all with arguments", async () => {
    const [bad, all] = await runTsnixBatch([
      ["--store", root, "path-info", "--outputs", "/nix/store/00000000000000000000000000000000-x"],
      ["--store", root, "path-info", "--all", "/nix/store/00000000000000000000000000000000-x"]
    ])
    expect(bad?.status).toBe(1)
    expect(bad?.stderr).toContain("unrecognised flag '--outputs'")
    expect(all?.status).toBe(1)
    expect(all?.stderr).toContain("'--all' does not expect arguments")
  })
})

describe("path-info size columns", () => {
  it("print as Nix's %11d and %6.1f%c (divided by 1024 while above 1024, ties to even)", () => {
    expect(formatSize(120, false)).toBe("\t        120")
    expect(formatSize(120, true)).toBe("\t 120.0 ")
    expect(formatSize(1024, true)).toBe("\t1024.0 ")
    expect(formatSize(1025, true)).toBe("\t   1.0K")
    expect(formatSize(1280, true)).toBe("\t   1.2K")
    expect(formatSize(1792, true)).toBe("\t   1.8K")
    expect(formatSize(1.25 * 1024 * 1024, true)).toBe("\t   1.2M")
    expect(formatSize(1023 * 1024 + 1000, true)).toBe("\t1024.0K")
    expect(formatSize(5 * 1024 ** 4, true)).toBe("\t   5.0T")
    expect(formatSize(Number.MAX_SAFE_INTEGER, true)).toBe("\t   8.0P")
  })
})
