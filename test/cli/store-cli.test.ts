/**
 * nix-store interop through the CLI: Nix 2.8's export stream imported into a
 * fresh tsnix store answers every recorded query byte for byte, exports back
 * byte-identically, and fails like Nix (message and status) on the recorded
 * error cases. Goldens: golden/store/generate.sh.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  goldenAll,
  goldenBytes,
  goldenError,
  goldenPaths,
  goldenQueries,
  goldenStoreDir,
  goldenText,
  named
} from "../stores/local/ops/golden.js"
import { runTsnixBatch } from "./cliBatch.js"
import { tsnixBin } from "./helpers.js"

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

describe("a store written by Nix 2.8 (golden/db/nix-store-fixture)", () => {
  const dbGolden = path.resolve(goldenStoreDir, "../db")
  it("verifies with --check-contents and answers like Nix", async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-nix-fixture-"))
    try {
      fs.cpSync(path.join(dbGolden, "nix-store-fixture"), copy, { recursive: true, verbatimSymlinks: true })
      const paths = Object.fromEntries(
        fs.readFileSync(path.join(dbGolden, "paths.txt"), "utf8").trim().split("\n").map((l) =>
          l.split("=") as [string, string]
        )
      )
      const [verify, dump, qR, qRDrv, closure, outputs] = await runTsnixBatch([
        ["--store", copy, "--verify", "--check-contents"],
        ["--store", copy, "--dump-db"],
        ["--store", copy, "-qR", paths["top"] as string],
        ["--store", copy, "-qR", paths["drv"] as string],
        ["--store", copy, "--query", "--referrers-closure", paths["leaf"] as string],
        ["--store", copy, "--query", "--outputs", paths["drv"] as string]
      ])
      expect({ status: verify?.status, stderr: messages(verify?.stderr ?? "") }).toEqual({ status: 0, stderr: [] })
      expect(dump?.stdout.toString()).toBe(fs.readFileSync(path.join(dbGolden, "dump-db.txt"), "utf8"))
      expect(qR?.stdout.toString()).toBe(fs.readFileSync(path.join(dbGolden, "qR.txt"), "utf8"))
      expect(qRDrv?.stdout.toString()).toBe(fs.readFileSync(path.join(dbGolden, "qR-drv.txt"), "utf8"))
      expect(closure?.stdout.toString()).toBe(fs.readFileSync(path.join(dbGolden, "referrers-closure.txt"), "utf8"))
      expect(outputs?.stdout.toString()).toBe(fs.readFileSync(path.join(dbGolden, "drv-outputs.txt"), "utf8"))
    } finally {
      rmStore(copy)
    }
  }, 30_000)
})

describe("nix-store operations: exit statuses, messages, dump-db/load-db, register-validity", () => {
  const roots: Array<string> = []
  const mk = () => {
    const r = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-store-ops-"))
    roots.push(r)
    return r
  }
  afterAll(() => roots.forEach(rmStore))
  const dbGolden = path.resolve(goldenStoreDir, "../db")

  it("delete, check-validity, add, verify, load-db and register-validity behave as nix-store", async () => {
    const root = mk()
    const root2 = mk()
    const root3 = mk()
    const root4 = mk()
    const root5 = mk()
    const { leaf, out, top } = named
    const src = mk()
    fs.writeFileSync(path.join(src, "a b"), "x")
    const del = goldenError("delete-referenced")
    const [imp, delLeaf, delOut, checkOut, addBad, dump] = await runTsnixBatch([
      { args: ["--store", root, "--import"], stdinFile: path.join(goldenStoreDir, "export.nar") },
      ["--store", root, ...del.args],
      ["--store", root, "--delete", out],
      ["--store", root, "--check-validity", out],
      ["--store", root, "--add", path.join(src, "a b")],
      ["--store", root, "--dump-db"]
    ])
    expect(imp?.status).toBe(0)
    expect({ status: delLeaf?.status, stderr: messages(delLeaf?.stderr ?? "") })
      .toEqual({ status: del.status, stderr: messages(del.stderr ?? "") })
    expect({ status: delOut?.status, stdout: delOut?.stdout.toString() })
      .toEqual({ status: 0, stdout: "1 store paths deleted, 0.00 MiB freed\n" })
    expect(fs.existsSync(path.join(root, out))).toBe(false)
    expect({ status: checkOut?.status, stderr: checkOut?.stderr }).toEqual({
      status: 1,
      stderr: `error: path '${out}' is not valid\n`
    })
    expect(addBad?.status).toBe(1)
    expect(addBad?.stderr).toMatch(/^error: .*'a b'.*\n$/)
    expect(fs.readdirSync(path.join(root, "nix/store")).filter((n) => n.includes("a b") || n.startsWith(".tsnix")))
      .toEqual([])

    // dump-db → load-db into a fresh store gives the same dump-db.
    const dumpFile = path.join(src, "dump")
    fs.writeFileSync(dumpFile, dump?.stdout ?? "")
    // A dangling reference: nothing of the input may be registered.
    const dangling = path.join(src, "dangling")
    const ghost = "/nix/store/00000000000000000000000000000009-ghost"
    fs.writeFileSync(
      dangling,
      `${goldenPaths["hello"]}\n${"0".repeat(64)}\n0\n\n0\n${top}\n${"0".repeat(64)}\n0\n\n1\n${ghost}\n`
    )
    // register-validity (plain: tsnix hashes the files) and --hash-given, as golden/db/generate.sh.
    const p1 = "/nix/store/00000000000000000000000000000001-reg-one"
    const p2 = "/nix/store/00000000000000000000000000000002-reg-two"
    for (const r of [root4, root5]) {
      fs.mkdirSync(path.join(r, "nix/store"), { recursive: true })
      fs.writeFileSync(path.join(r, p1), "one\n")
      fs.writeFileSync(path.join(r, p2), `two refers to ${p1} and itself ${p2}\n`)
    }
    // --load-db reads each registered .drv (for its outputs), as Nix does: root2 gets the store's files.
    fs.cpSync(path.join(root, "nix/store"), path.join(root2, "nix/store"), { recursive: true })
    // Remove a file that valid paths still refer to: --verify reports it and exits 1.
    fs.chmodSync(path.join(root, leaf), 0o644)
    fs.rmSync(path.join(root, leaf))
    // In root5, reg-one's file holds "three\n" (reg-three's content) while --hash-given registers
    // the hash of "one\n": plain --register-validity leaves valid paths alone, --reregister rehashes
    // them (and, as Nix's updatePathInfo, keeps their deriver).
    fs.writeFileSync(path.join(root5, p1), "three\n")
    const plain = path.join(dbGolden, "register-validity-plain.txt")
    const [verify, load, dump2, loadBad, dump3, reg, dump4, regGiven, regAgain, dump5, reregister, dump6] =
      await runTsnixBatch([
        ["--store", root, "--verify"],
        { args: ["--store", root2, "--load-db"], stdinFile: dumpFile },
        ["--store", root2, "--dump-db"],
        { args: ["--store", root3, "--load-db"], stdinFile: dangling },
        ["--store", root3, "--dump-db"],
        {
          args: ["--store", root4, "--register-validity"],
          stdinFile: path.join(dbGolden, "register-validity-plain.txt")
        },
        ["--store", root4, "--dump-db"],
        {
          args: ["--store", root5, "--register-validity", "--hash-given"],
          stdinFile: path.join(dbGolden, "register-validity-hash-given-1.txt")
        },
        { args: ["--store", root5, "--register-validity"], stdinFile: plain },
        ["--store", root5, "--dump-db"],
        { args: ["--store", root5, "--register-validity", "--reregister"], stdinFile: plain },
        ["--store", root5, "--dump-db"]
      ])
    expect({ status: verify?.status, stderr: messages(verify?.stderr ?? "") }).toEqual({
      status: 1,
      stderr: [
        `path '${leaf}' disappeared, but it still has valid referrers!`,
        "warning: not all store errors were fixed"
      ]
    })
    expect(load?.status).toBe(0)
    expect(dump2?.stdout.toString()).toBe(dump?.stdout.toString())
    expect(loadBad?.status).toBe(1)
    expect(loadBad?.stderr).toContain(ghost)
    expect({ status: dump3?.status, stdout: dump3?.stdout.toString() }).toEqual({ status: 0, stdout: "" })
    const expected = fs.readFileSync(path.join(dbGolden, "dump-db.txt"), "utf8").split("\n").slice(0, 12).join("\n") +
      "\n"
    expect({ status: reg?.status, stderr: reg?.stderr }).toEqual({ status: 0, stderr: "" })
    expect(dump4?.stdout.toString()).toBe(expected)
    for (const r of [regGiven, regAgain, reregister]) {
      expect({ status: r?.status, stderr: r?.stderr }).toEqual({ status: 0, stderr: "" })
    }
    expect(dump5?.stdout.toString()).toBe(expected)
    const all = fs.readFileSync(path.join(dbGolden, "dump-db.txt"), "utf8").split("\n")
    const i3 = all.indexOf("/nix/store/00000000000000000000000000000003-reg-three")
    const lines = expected.split("\n")
    lines[1] = all[i3 + 1] as string
    lines[2] = all[i3 + 2] as string
    expect(dump6?.stdout.toString()).toBe(lines.join("\n"))
    // Registered files were canonicalised.
    const st = fs.statSync(path.join(root4, p1))
    expect([st.mtimeMs, st.mode & 0o777]).toEqual([1000, 0o444])
  }, 60_000)
})

describe("--load-db reads standard input as it arrives", () => {
  it("fails on a line that is too long before the input ends, registering nothing", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-loaddb-stream-"))
    const child = spawn(process.execPath, [tsnixBin, "--store", root, "--load-db"], {
      env: { ...process.env, NIX_CONFIG: "" },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.stdin.on("error", () => undefined)
    // 64 KiB without a newline, and the pipe stays open: only a streaming parser can answer now.
    child.stdin.write(Buffer.alloc(64 * 1024, 0x78))
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve))
    child.stdin.destroy()
    expect(status).toBe(1)
    expect(stderr).toBe("error: reading validity registrations: line 1: line too long (more than 4096 characters)\n")
    const dump = await runTsnixBatch([["--store", root, "--dump-db"]])
    expect(dump[0]?.stdout.toString()).toBe("")
  })
})
