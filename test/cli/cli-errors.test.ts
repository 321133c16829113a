/**
 * The CLI's own answers where Nix 2.8 has none to compare with (it crashes,
 * builds, or cannot do it): one `error:` line, no Node error text, no stack
 * trace for an expected failure even with `-v`, nothing written on refusal.
 * Nix's own answers are in test/cli/cli-golden.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { addedName, nixBaseNameOf } from "../../src/cli/ops/store.js"
import { runTsnixBatch } from "./cliBatch.js"
import { tsnixBin } from "./helpers.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/cli")
const paths: Record<string, string> = Object.fromEntries(
  fs.readFileSync(path.join(golden, "paths.txt"), "utf8").trim().split("\n").map((
    l
  ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])
)
const p = (k: string) => paths[k] as string

let tmp = ""
let root = ""

describe("tsnix's own CLI errors", () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-cli-errors-"))
    root = path.join(tmp, "root")
    const [r] = await runTsnixBatch([{
      args: ["--store", root, "--import"],
      stdinFile: path.join(golden, "store.nar")
    }])
    if (r?.status !== 0) throw new Error(r?.stderr)
  })
  afterAll(() => {
    fs.chmodSync(path.join(root, "nix/store"), 0o755)
    for (const e of fs.readdirSync(path.join(root, "nix/store"))) {
      const f = path.join(root, "nix/store", e)
      if (fs.lstatSync(f).isDirectory()) fs.chmodSync(f, 0o755)
    }
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it("prints one error line without a stack trace for expected failures, even with -v", async () => {
    const [a, b] = await runTsnixBatch([
      { args: ["-v", "--store", root, "-q", "--references", "nonexistent"], cwd: tmp },
      { args: ["-vv", "--store", root, "show-derivation", "nonexistent.drv"], cwd: tmp }
    ])
    const lines = (s: string) => s.split("\n").filter((l) => l.startsWith("error:") || l.includes("    at "))
    expect({ status: a?.status, errors: lines(a?.stderr ?? "") })
      .toEqual({
        status: 1,
        errors: [`error: getting status of '${path.join(tmp, "nonexistent")}': No such file or directory`]
      })
    expect({ status: b?.status, errors: lines(b?.stderr ?? "") })
      .toEqual({
        status: 1,
        errors: [`error: getting status of '${path.join(tmp, "nonexistent.drv")}': No such file or directory`]
      })
  })

  it("refuses what needs a builder, a root in the store, and a file that is not a derivation, writing nothing", async () => {
    const notDrv = path.join(tmp, "h.drv")
    fs.writeFileSync(notDrv, "hello\n")
    const [build, inStore, printEnv, show] = await runTsnixBatch([
      { args: ["--store", root, "-r", p("drv"), "--add-root", "approot"], cwd: tmp },
      ["--store", root, "-r", p("hello"), "--add-root", "/nix/store/x"],
      ["--store", root, "--print-env", p("hello")],
      ["--store", root, "show-derivation", notDrv]
    ])
    // The golden derivation's builder (/bin/sh) is not in its sandbox: the build fails (100), or cannot
    // start without bubblewrap (1); either way no root is made.
    expect(build?.stdout.toString()).toBe("")
    expect([1, 100]).toContain(build?.status)
    expect(build?.stderr.startsWith(`this derivation will be built:\n  ${p("drv")}\n`)).toBe(true)
    expect(fs.existsSync(path.join(tmp, "approot"))).toBe(false)
    expect(inStore?.stderr).toBe(
      "error: creating a garbage collector root (/nix/store/x) in the Nix store is forbidden (are you running nix-build inside the store?)\n"
    )
    // Nix 2.8 aborts on an assertion here; tsnix says what is wrong.
    expect({ status: printEnv?.status, stderr: printEnv?.stderr }).toEqual({
      status: 1,
      stderr: `error: error parsing derivation '${
        p("hello")
      }': error: expected 'Derive(' at the start of a derivation, found "hello\\n"\n`
    })
    expect({ status: show?.status, stderr: show?.stderr }).toEqual({
      status: 1,
      stderr:
        `error: error parsing derivation '${notDrv}': error: expected 'Derive(' at the start of a derivation, found "hello\\n"\n`
    })
    const auto = path.join(root, "nix/var/nix/gcroots/auto")
    expect(fs.existsSync(auto) ? fs.readdirSync(auto) : []).toEqual([])
  })

  it("--register-validity of a .drv whose file is missing registers nothing", async () => {
    const extra = "/nix/store/33333333333333333333333333333333-extra"
    const missing = "/nix/store/44444444444444444444444444444444-missing.drv"
    fs.writeFileSync(path.join(root, extra), "extra\n")
    const input = path.join(tmp, "reg.txt")
    const h = "1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13"
    fs.writeFileSync(input, `${extra}\n${h}\n120\n\n0\n${missing}\n${h}\n120\n\n0\n`)
    const [reg, check] = await runTsnixBatch([
      { args: ["--store", root, "--register-validity", "--hash-given"], stdinFile: input },
      ["--store", root, "--check-validity", "--print-invalid", extra, missing]
    ])
    expect(reg?.status).toBe(1)
    expect(reg?.stderr).toMatch(
      /^error: [^\n]*44444444444444444444444444444444-missing\.drv'[^\n]*: No such file or directory\n$/
    )
    expect(check?.stdout.toString()).toBe(`${extra}\n${missing}\n`)
  })

  // Needs root (to run tsnix as nobody, for whom the directory is unreadable).
  it.skipIf(process.getuid?.() !== 0)(
    "words a permission error as Nix does (checked by hand against nix-store 2.8 as nobody)",
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-cli-perm-"))
      try {
        fs.chmodSync(dir, 0o755)
        fs.mkdirSync(path.join(dir, "open/s"), { recursive: true })
        fs.writeFileSync(path.join(dir, "open/g"), "y\n")
        fs.chmodSync(path.join(dir, "open/s"), 0o700)
        fs.mkdirSync(path.join(dir, "store"), { mode: 0o777 })
        fs.chmodSync(path.join(dir, "store"), 0o777)
        const run = (...args: Array<string>) => {
          const r = spawnSync(process.execPath, [tsnixBin, "--store", path.join(dir, "store"), ...args], {
            cwd: dir,
            uid: 65534,
            gid: 65534,
            env: { PATH: process.env["PATH"] ?? "", HOME: dir, NIX_CONFIG: "" },
            encoding: "utf8"
          })
          return { status: r.status, stderr: r.stderr }
        }
        const denied = (p: string) => ({ status: 1, stderr: `error: opening directory '${p}': Permission denied\n` })
        expect(run("--add", "open")).toEqual(denied(path.join(dir, "open/s")))
        expect(run("--add-fixed", "--recursive", "sha256", "open")).toEqual(denied("open/s"))
        expect(run("hash", "open")).toEqual(denied("open/s"))
        expect(run("--dump", "open")).toEqual(denied("open/s"))
        expect(run("-q", "--references", "open/s/x")).toEqual({
          status: 1,
          stderr: `error: getting status of '${path.join(dir, "open/s/x")}': Permission denied\n`
        })
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  )

  it("names added paths as nix-store does, except '.', '..' and empty names", () => {
    expect(nixBaseNameOf("a/b")).toBe("b")
    expect(nixBaseNameOf("a/b/")).toBe("b")
    expect(nixBaseNameOf("a/b//")).toBe("")
    expect(nixBaseNameOf("/")).toBe("")
    expect(nixBaseNameOf("b")).toBe("b")
    expect(nixBaseNameOf("a/.")).toBe(".")
    expect(addedName("x/y/")).toBe("y")
    expect(addedName(".")).toBe(path.basename(process.cwd()))
    expect(addedName("a/b/..")).toBe("a")
    expect(addedName("a/b//")).toBe("b")
  })
})
