/**
 * An add never registers content that differs from what it hashed: while
 * `tsnix --add` copies a tree into its temporary, something (here the test,
 * standing for a collector that does not honour temporary roots) keeps
 * unlinking files inside tsnix temporaries. Each add then either fails with
 * a clear error and registers nothing, or (if it was not hit) registers a path
 * that verifies. The disturbance must hit at least one add, so the check is
 * exercised.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { isTempName } from "../../src/stores/local/ops/tempPath.js"
import { runTsnix } from "./helpers.js"

let work = ""
afterEach(() => {
  if (work !== "") {
    execFileSync("chmod", ["-R", "u+w", work])
    fs.rmSync(work, { recursive: true, force: true })
  }
})

/** Unlinks one regular file somewhere inside `dir` (depth first); whether it found one. */
const unlinkOneFile = async (dir: string): Promise<boolean> => {
  let names: Array<fs.Dirent>
  try {
    names = await fs.promises.readdir(dir, { withFileTypes: true })
  } catch {
    return false
  }
  for (const d of names) {
    const p = path.join(dir, d.name)
    if (d.isDirectory()) {
      if (await unlinkOneFile(p)) return true
    } else if (d.isFile()) {
      try {
        await fs.promises.unlink(p)
        return true
      } catch {
        // Gone already, or the directory is read-only by now.
      }
    }
  }
  return false
}

describe("tsnix --add while its temporary loses files", () => {
  it("every add fails cleanly or registers a path that verifies; at least one is hit", async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-tempdel-"))
    const root = path.join(work, "root")
    const storeDir = path.join(root, "nix/store")
    const src = path.join(work, "src")
    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(path.join(src, `d${d}`), { recursive: true })
      for (let f = 0; f < 60; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), `${d}/${f}\n`.repeat(20))
    }
    let done = false
    let unlinked = 0
    const disturber = (async () => {
      while (!done) {
        let names: Array<string> = []
        try {
          names = await fs.promises.readdir(storeDir)
        } catch {
          // The store is not there yet.
        }
        for (const n of names.filter(isTempName)) if (await unlinkOneFile(path.join(storeDir, n))) unlinked++
        await new Promise((r) => setTimeout(r, 1))
      }
    })()
    const outcomes: Array<{ status: number | null; stderr: string; out: string }> = []
    try {
      for (let i = 0; i < 4; i++) {
        // Different content each time, so each add writes a new path.
        const r = await runTsnix(["--store", root, "--add", src])
        outcomes.push({ status: r.status, stderr: r.stderr, out: r.stdout.toString().trim() })
        fs.writeFileSync(path.join(src, "d0", "f0"), `round ${i}\n`)
      }
    } finally {
      done = true
      await disturber
    }
    const failed = outcomes.filter((o) => o.status !== 0)
    for (const o of failed) {
      expect(o.status).toBe(1)
      expect(o.stderr).toMatch(/changed while it was being added|canonicalising|No such file or directory/)
    }
    expect(unlinked).toBeGreaterThan(0)
    expect(failed.length).toBeGreaterThan(0)
    // Nothing registered differs from what was hashed; no temporary is left behind.
    const v = await runTsnix(["--store", root, "--verify", "--check-contents"])
    expect(v.stderr).not.toMatch(/modified|missing|error/)
    expect(v.status).toBe(0)
    expect(fs.readdirSync(storeDir).filter(isTempName)).toEqual([])
    for (const o of outcomes.filter((x) => x.status === 0)) expect(fs.existsSync(path.join(root, o.out))).toBe(true)
  }, 120_000)
})
