/**
 * `--optimise`, `auto-optimise-store`, verify's link hashes and the
 * collector's unused links, through the CLI, against Nix 2.8 on the same
 * inputs (golden/optimise, made by its generate.sh): the same store paths,
 * the same `.links` names, the same inode sharing, modes and mtimes, and the
 * same messages. "freed" is Σ st_size (exact); GC's "hard linking saves"
 * subtracts the `.links` directory's own blocks, which depend on the file
 * system, so that line is checked against Nix's formula with this file
 * system's blocks (and the formula against Nix's line with Nix's blocks).
 */
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { printfFixed2 } from "../../src/core/printf.js"
import { describeStore, makeInputs, nixOut, nixStore, savedBytes } from "../stores/local/ops/optimiseGolden.js"
import { runTsnix } from "./helpers.js"

let work = ""
let root = ""

const rmTree = (dir: string) => {
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

const unroot = (s: string) => s.split(root).join("@ROOT@")
const ts = (args: ReadonlyArray<string>, cwd?: string) =>
  runTsnix(["--store", root, "--option", "gc-runtime-roots", "false", ...args], cwd === undefined ? {} : { cwd })
const note = (bytes: number) => `note: currently hard linking saves ${printfFixed2(bytes / (1024 * 1024))} MiB`

/** Replaces the golden's note line by the one this file system gives (checking Nix's own first). */
const expectGcStderr = (actual: string, golden: string, state: string) => {
  const nixState = nixStore(state)
  const lines = golden.trimEnd().split("\n")
  const i = lines.findIndex((l) => l.startsWith("note: currently hard linking saves"))
  expect(lines[i]).toBe(note(savedBytes(nixState.links, nixState.linksDirBlocks)))
  const mine = describeStore(path.join(root, "nix/store"))
  lines[i] = note(savedBytes(mine.links, mine.linksDirBlocks))
  // Nix deletes in the store directory's readdir order (file-system dependent): compare those lines as a set.
  expect(deletingSorted(unroot(actual).trimEnd().split("\n"))).toEqual(deletingSorted(lines))
}

/** The lines, with the `deleting '…'` ones (a contiguous run) sorted among themselves. */
const deletingSorted = (lines: ReadonlyArray<string>): Array<string> => {
  const isDel = (l: string) => l.startsWith("deleting '")
  const first = lines.findIndex(isDel)
  if (first < 0) return [...lines]
  const dels = lines.filter(isDel).sort()
  const rest = lines.filter((l) => !isDel(l))
  return [...rest.slice(0, first), ...dels, ...rest.slice(first)]
}

/** A store description without the file-system-dependent block count. */
const shape = (d: ReturnType<typeof describeStore>) => ({ ...d, linksDirBlocks: 0 })

describe("--optimise vs Nix 2.8 (golden/optimise)", () => {
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-optimise-cli-"))
    root = path.join(work, "root")
  })
  afterEach(() => rmTree(work))

  it("links, messages, auto-optimise, verify, gc and delete as Nix does", async () => {
    const main = makeInputs("main", path.join(work, "in"))
    const add = await ts(["--add", ...main], path.join(work, "in"))
    expect(add.stderr).toBe("")
    expect(add.stdout.toString()).toBe(nixOut("add.stdout"))

    const o1 = await ts(["--optimise"])
    expect(o1.status).toBe(Number(nixOut("optimise1.status")))
    expect(unroot(o1.stderr)).toBe(nixOut("optimise1.stderr"))
    expect(o1.stdout.toString()).toBe("")
    expect(shape(describeStore(path.join(root, "nix/store")))).toEqual(shape(nixStore("optimised")))

    const o2 = await ts(["--optimise"])
    expect(unroot(o2.stderr)).toBe(nixOut("optimise2.stderr"))

    const auto = makeInputs("auto", path.join(work, "in-auto"))
    const a = await ts(["--option", "auto-optimise-store", "true", "--add", ...auto], path.join(work, "in-auto"))
    expect(a.stderr).toBe("")
    expect(a.stdout.toString()).toBe(nixOut("auto.stdout"))
    expect(shape(describeStore(path.join(root, "nix/store")))).toEqual(shape(nixStore("auto")))

    const v = await ts(["--verify", "--check-contents"])
    expect(v.status).toBe(Number(nixOut("verify.status")))
    expect(unroot(v.stderr)).toBe(nixOut("verify.stderr"))
    const bogus = path.join(root, "nix/store/.links", nixOut("bogus.name").trim())
    fs.writeFileSync(bogus, "bogus")
    const vb = await ts(["--verify", "--check-contents"])
    expect(vb.status).toBe(Number(nixOut("verify-bad.status")))
    expect(unroot(vb.stderr)).toBe(nixOut("verify-bad.stderr"))
    fs.unlinkSync(bogus)

    const gcroots = path.join(root, "nix/var/nix/gcroots")
    fs.mkdirSync(gcroots, { recursive: true })
    fs.symlinkSync(nixOut("add.stdout").split("\n")[0] as string, path.join(gcroots, "a"))
    fs.symlinkSync(nixOut("auto.stdout").split("\n")[0] as string, path.join(gcroots, "c"))
    const gc = await ts(["--gc"])
    expect(gc.status).toBe(0)
    expect(gc.stdout.toString()).toBe(nixOut("gc.stdout"))
    expectGcStderr(gc.stderr, nixOut("gc.stderr"), "gc")
    expect(shape(describeStore(path.join(root, "nix/store")))).toEqual(shape(nixStore("gc")))

    const top = await ts(["--add", "top.txt"], path.join(work, "in"))
    const del = await ts(["--delete", top.stdout.toString().trim()])
    expect(del.stdout.toString()).toBe(nixOut("delete.stdout"))
    expectGcStderr(del.stderr, nixOut("delete.stderr"), "delete")
    expect(shape(describeStore(path.join(root, "nix/store")))).toEqual(shape(nixStore("delete")))

    const after = await ts(["--verify", "--check-contents"])
    expect(after.status).toBe(0)
  })

  it("rounds the freed figure as printf does (0.125 MiB is 0.12)", async () => {
    const tie = makeInputs("tie", path.join(work, "in"))
    const add = await ts(["--add", ...tie], path.join(work, "in"))
    expect(add.stdout.toString()).toBe(nixOut("tie.stdout"))
    const o = await ts(["--optimise"])
    expect(o.stderr).toBe(nixOut("tie.stderr"))
  })

  it("refuses arguments and flags as nix-store does", async () => {
    const r = await ts(["--optimise", "--recursive"])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain("error: no arguments expected")
    const r2 = await ts(["--optimise", "x"])
    expect(r2.status).toBe(1)
    expect(r2.stderr).toContain("error: no arguments expected")
  })

  // As another user (the store's owner, not root): rename(2) into a read-only directory needs the
  // parent made writable first, and put back to 0555 / mtime 1 afterwards, as Nix does.
  const isRoot = process.getuid?.() === 0
  it.skipIf(!isRoot)(
    "makes each parent writable for the rename, then read-only again (as a non-root owner)",
    async () => {
      const main = makeInputs("main", path.join(work, "in"))
      expect((await ts(["--add", ...main], path.join(work, "in"))).status).toBe(0)
      const nobody = 65534
      const chownAll = (p: string) => {
        fs.lchownSync(p, nobody, nobody)
        if (fs.lstatSync(p).isDirectory()) { for (const n of fs.readdirSync(p)) chownAll(path.join(p, n)) }
      }
      fs.chmodSync(work, 0o755)
      chownAll(root)
      const r = await runTsnix(["--store", root, "--optimise"], { uid: nobody, gid: nobody })
      expect(r.stderr).toBe(nixOut("optimise1.stderr"))
      expect(r.status).toBe(0)
      expect(shape(describeStore(path.join(root, "nix/store")))).toEqual(shape(nixStore("optimised")))
    }
  )
})
