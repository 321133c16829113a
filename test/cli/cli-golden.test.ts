/**
 * The CLI cases of golden/cli (golden/cli/generate.sh): Nix 2.8's nix-store,
 * `nix show-derivation`, `nix hash to-*` and nix-hash runs, replayed with
 * tsnix on the same store (golden/cli/store.nar) in the same order and work
 * directory layout. stdout, stderr and the exit status must be Nix's, with
 * the work directory and store root put back in place of @WORK@ / @ROOT@.
 * The order cases (`--delete`'s "deleting" lines, `--verify`'s "disappeared"
 * lines) run on a second store. Also: the roots `--add-root` made (the symlinks, and gcroots/auto named as
 * Nix names them), and show-derivation of a `.drv` copied out of the store.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { encodeNix32 } from "../../src/core/nix32.js"
import { type BatchCommand, runTsnixBatch } from "./cliBatch.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/cli")
const read = (f: string) => fs.readFileSync(path.join(golden, f), "utf8")
/** A recorded output, byte for byte (one char a byte: NAR and export streams are not text). */
const readBytes = (f: string) => fs.readFileSync(path.join(golden, f), "latin1")
const exists = (f: string) => fs.existsSync(path.join(golden, f))
const paths: Record<string, string> = Object.fromEntries(
  read("paths.txt").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])
)
const caseNames = read("cases.txt").trim().split("\n")

/** One recorded case. */
interface Case {
  readonly name: string
  readonly args: Array<string>
  readonly cwd: string
  /** Whether the case ran on the second store (the order cases). */
  readonly second: boolean
  readonly stdin: string | undefined
  /** Store paths whose files are removed before the case runs. */
  readonly remove: ReadonlyArray<string>
  readonly stdout: string
  readonly stderr: string
  readonly status: number
}

const cases: Array<Case> = caseNames.map((name) => ({
  name,
  args: read(`cases/${name}.args`).replace(/\n$/, "").split("\n"),
  cwd: exists(`cases/${name}.cwd`) ? read(`cases/${name}.cwd`).trim() : "",
  second: exists(`cases/${name}.store`),
  stdin: exists(`cases/${name}.stdin`) ? path.join(golden, `cases/${name}.stdin`) : undefined,
  remove: exists(`cases/${name}.remove`) ? read(`cases/${name}.remove`).trim().split("\n") : [],
  stdout: readBytes(`cases/${name}.stdout`),
  stderr: read(`cases/${name}.stderr`),
  status: Number(read(`cases/${name}.status`).trim())
}))

/**
 * Cases where tsnix deliberately answers differently (docs/INTEROP.md, "CLI
 * operations and errors"): Nix 2.8 names `--add .` (and `dir/.`, `dir/..`)
 * `…-.` / `…-..`, names tsnix refuses everywhere; tsnix names the path after
 * the canonical directory, the path Nix gives `--add in/dir/`. A failed
 * `--dump` / `--export` writes nothing (Nix writes the start of its stream).
 */
const differences: Readonly<
  Record<string, { readonly stdoutOf: string } | { readonly stdout: string; readonly stderr?: string }>
> = {
  "add-dot": { stdoutOf: "add-dir-slash" },
  "add-dir-dot": { stdoutOf: "add-dir-slash" },
  "add-dotdot": { stdoutOf: "add-dir-slash" },
  "add-fixed-dot": { stdoutOf: "add-dir-slash" },
  "err-dump-missing": { stdout: "" },
  // Nix's message, after "reading validity registrations: line N: " (tsnix names the line).
  "load-db-bad-hash": {
    stdout: "",
    stderr: "error: reading validity registrations: line 2: hash 'xyz' has wrong length for hash type 'sha256'\n"
  },
  "load-db-bad-size": {
    stdout: "",
    stderr: "error: reading validity registrations: line 3: number expected (NAR size), got \"abc\"\n"
  },
  "err-export-invalid": { stdout: "" }
}

/** The tsnix spelling of a recorded Nix command line. */
const tsnixArgs = (root: string, args: ReadonlyArray<string>): Array<string> => {
  const [prog, ...rest] = args
  if (prog === "nix-store") return ["--store", root, ...rest]
  if (prog === "nix-hash") return ["hash", ...rest]
  if (prog === "nix" && rest[0] === "show-derivation") return ["--store", root, ...rest]
  if (prog === "nix" && rest[0] === "hash" && rest[1]?.startsWith("to-")) {
    return ["hash", `--${rest[1]}`, ...rest.slice(2)]
  }
  throw new Error(`no tsnix spelling for ${args.join(" ")}`)
}

/** nix32(sha1(path)): the name Nix gives an indirect root's link in gcroots/auto. */
const autoRootName = (p: string) => encodeNix32(createHash("sha1").update(p).digest())

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

let tmp = ""
let root = ""
let root2 = ""
let work = ""

describe("CLI operations and errors, as Nix 2.8 (golden/cli)", () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-cli-golden-"))
    root = path.join(tmp, "root")
    root2 = path.join(tmp, "root2")
    work = path.join(tmp, "work")
    fs.mkdirSync(work)
    fs.cpSync(path.join(golden, "inputs"), path.join(work, "in"), { recursive: true })
    const imports = await runTsnixBatch(
      [root, root2].map((r) => ({ args: ["--store", r, "--import"], stdinFile: path.join(golden, "store.nar") }))
    )
    for (const i of imports) if (i.status !== 0) throw new Error(`import failed: ${i.stderr}`)
    // The unregistered file the --load-db case names (generate.sh writes it too).
    fs.writeFileSync(path.join(root, "nix/store/22222222222222222222222222222222-extra"), "extra\n")
  })
  afterAll(() => rmTree(tmp))

  const put = (s: string) => s.replaceAll("@WORK@", work).replaceAll("@ROOT2@", root2).replaceAll("@ROOT@", root)
  // The hard-linking report after a deletion belongs to --optimise's part of the collector: not compared here.
  const normalise = (stderr: string) =>
    stderr.replace(/^Try '(nix|nix-store|nix-hash) --help'/gm, "Try 'tsnix --help'")
      .replace(/^(deleting unused links\.\.\.|note: currently hard linking saves .*)\n/gm, "")

  it("answers every case as Nix did: stdout, stderr, exit status", async () => {
    const command = (c: Case): BatchCommand => ({
      args: tsnixArgs(c.second ? root2 : root, c.args.map(put)),
      cwd: path.join(work, c.cwd),
      ...(c.stdin === undefined ? {} : { stdinFile: c.stdin })
    })
    // Run in stretches: before a case that needs files removed, remove them (as generate.sh did).
    const results: Array<Awaited<ReturnType<typeof runTsnixBatch>>[number]> = []
    let from = 0
    for (let i = 0; i <= cases.length; i++) {
      const c = cases[i]
      if (i < cases.length && (c === undefined || c.remove.length === 0)) continue
      results.push(...(await runTsnixBatch(cases.slice(from, i).map(command))))
      from = i
      if (c === undefined) break
      const storeRoot = c.second ? root2 : root
      for (const p of c.remove) {
        const real = path.join(storeRoot, p)
        if (fs.existsSync(real)) fs.chmodSync(real, 0o755)
        rmTree(real)
      }
    }
    const got = cases.map((c, i) => {
      const r = results[i]
      return {
        name: c.name,
        status: r?.status,
        stdout: r?.stdout.toString("latin1"),
        stderr: normalise(r?.stderr ?? "")
      }
    })
    const stdoutOf = (name: string) => cases.find((c) => c.name === name)?.stdout ?? ""
    const want = cases.map((c) => {
      const d = differences[c.name]
      return {
        name: c.name,
        status: c.status,
        stdout: put(d === undefined ? c.stdout : "stdout" in d ? d.stdout : stdoutOf(d.stdoutOf)),
        stderr: d !== undefined && "stderr" in d && d.stderr !== undefined ? d.stderr : normalise(put(c.stderr))
      }
    })
    // Where tsnix words an error its own way, it still says what Nix says.
    for (const c of cases) {
      const d = differences[c.name]
      if (d !== undefined && "stderr" in d && d.stderr !== undefined) {
        expect(d.stderr).toContain(c.stderr.replace(/^error: /, "").trim())
      }
    }
    expect(got.filter((g, i) => JSON.stringify(g) !== JSON.stringify(want[i]))).toEqual(
      want.filter((w, i) => JSON.stringify(got[i]) !== JSON.stringify(w))
    )
  }, 60_000)

  it("made the roots Nix made: the symlinks, and gcroots/auto links named by the hash of their path", () => {
    const recordedWork = read("work-dir.txt").trim()
    const auto = read("gcroots-auto.txt").trim().split("\n").map((l) => l.split(" -> ") as [string, string])
    // Nix's names are nix32(sha1(absolute root path)) of the work directory they were made in.
    for (const [name, target] of auto) expect(name).toBe(autoRootName(target.replace("@WORK@", recordedWork)))
    const autoDir = path.join(root, "nix/var/nix/gcroots/auto")
    const ours = fs.readdirSync(autoDir).map((n) => `${n} -> ${fs.readlinkSync(path.join(autoDir, n))}`).sort()
    expect(ours).toEqual(auto.map(([, t]) => `${autoRootName(put(t))} -> ${put(t)}`).sort())
    const links: Array<string> = []
    const walk = (dir: string, rel: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const r = rel === "" ? e.name : `${rel}/${e.name}`
        if (e.isSymbolicLink()) links.push(`${r} -> ${fs.readlinkSync(path.join(dir, e.name))}`)
        else if (e.isDirectory()) walk(path.join(dir, e.name), r)
      }
    }
    walk(work, "")
    expect(links.sort()).toEqual(read("roots.txt").trim().split("\n").sort())
  })

  it("shows a .drv copied out of the store under another name with the output paths the file records", async () => {
    const fod = paths["fod"] as string
    const copy = path.join(work, "renamed.drv")
    fs.copyFileSync(path.join(root, fod), copy)
    const userCopy = path.join(work, "user-copy")
    fs.copyFileSync(path.join(root, paths["user"] as string), userCopy)
    const [r, rel, rec] = await runTsnixBatch([
      ["--store", root, "show-derivation", copy],
      { args: ["--store", root, "show-derivation", "renamed.drv"], cwd: work },
      ["--store", root, "show-derivation", "-r", userCopy]
    ])
    const want = JSON.parse(read("cases/show-fod.stdout")) as Record<string, unknown>
    expect(r?.status).toBe(0)
    expect(JSON.parse(r?.stdout.toString() ?? "")).toEqual({ [copy]: want[fod] })
    // A relative file name is shown as its absolute path.
    expect(JSON.parse(rel?.stdout.toString() ?? "")).toEqual({ [copy]: want[fod] })
    // --recursive from a copy: the copy, then the derivations its inputs lead to (as `show-r` of the original).
    const wantR = JSON.parse(read("cases/show-r.stdout")) as Record<string, unknown>
    const user = paths["user"] as string
    expect(JSON.parse(rec?.stdout.toString() ?? "")).toEqual({ ...wantR, [userCopy]: wantR[user], [user]: undefined })
  })
})
