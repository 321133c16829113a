/**
 * Builds through `tsnix daemon` (a real process on a chroot store, so builds
 * are sandboxed with bubblewrap), on the .drv files of golden/build/chroot
 * (Nix 2.8's own sandboxed builds of them):
 * - tsnix's client (`tsnix --store unix://… -r/-l/--check`): the same output
 *   paths, NAR hashes, stderr and exit statuses (100, 102) as Nix's local
 *   `nix-store -r` in the goldens. Runs without Nix (needs bubblewrap).
 * - Nix 2.8's clients (`nix-store -r`, `nix-build`) against it: the same
 *   outputs; a failure exits 1, as with Nix's own daemon (the status is lost
 *   on the wire). Skipped without nix-bin.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { sandboxAvailable } from "../../src/builder/sandbox/index.js"
import { removeTree } from "../../src/stores/local/ops/removeTree.js"
import { sameBusybox } from "../builder/helpers.js"

const hasNix = spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const bwrapOk = await Effect.runPromise(sandboxAvailable)
if (!bwrapOk) console.warn("daemon build tests skipped: bubblewrap cannot run here (Debian package bubblewrap)")

const here = path.dirname(fileURLToPath(import.meta.url))
const tsnix = path.resolve(here, "../../bin/tsnix")
const chroot = path.resolve(here, "../../golden/build/chroot")
const golden = (name: string) => fs.readFileSync(path.join(chroot, name), "utf8")
const cases = new Map(golden("cases.txt").trim().split("\n").map((l) => l.split(" ") as [string, string]))
const NIX_CONFIG =
  "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ="

interface Run {
  readonly out: string
  readonly err: string
  readonly rc: number
}

/** Runs a command without blocking the event loop. */
const run = (cmd: string, args: ReadonlyArray<string>, cwd?: string) =>
  Effect.promise(() =>
    new Promise<Run>((resolve) => {
      execFile(cmd, args, {
        env: { ...process.env, NIX_CONFIG },
        cwd,
        maxBuffer: 1 << 26,
        timeout: 60000
      }, (error, stdout, stderr) => {
        const rc = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resolve({ out: stdout.toString(), err: stderr.toString(), rc })
      }).stdin?.end()
    })
  )

/** `tsnix --store ROOT daemon --socket S` on a fresh chroot store holding busybox and the golden .drv files. */
const daemonWithDrvs = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-daemon-build-io-"))),
    (d) => Effect.ignore(removeTree(d))
  )
  const root = path.join(dir, "root")
  const socket = path.join(dir, "daemon.sock")
  yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, [tsnix, "--store", root, "daemon", "--socket", socket], {
        env: { ...process.env, NIX_CONFIG: `${NIX_CONFIG}\ntrusted-users = *` },
        stdio: ["ignore", "ignore", "ignore"]
      })
    ),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )
  for (let i = 0; i < 400 && !fs.existsSync(socket); i++) {
    yield* Effect.promise(() => new Promise((r) => setTimeout(r, 25)))
  }
  const S = `unix://${socket}?root=${root}`
  fs.mkdirSync(path.join(dir, "bb"))
  fs.copyFileSync("/usr/bin/busybox", path.join(dir, "bb", "busybox"))
  fs.chmodSync(path.join(dir, "bb", "busybox"), 0o755)
  const ts = (...args: Array<string>) => run(process.execPath, [tsnix, "--store", S, ...args], dir)
  expect((yield* ts("--add", path.join(dir, "bb"))).out.trim()).toBe(golden("bb.path").trim())
  expect(
    (yield* run("sh", ["-c", `${process.execPath} ${tsnix} --store '${S}' --import < ${chroot}/drvs.export`]))
      .rc
  ).toBe(0)
  return { S, dir, ts }
})

/**
 * A golden stderr with what a daemon adds to a builder failure's message: Nix 2.8's daemon
 * logger is not verbose, so its message ends with the last log lines (as Nix's own daemon sends it).
 */
const withDaemonTail = (name: string) => {
  const local = golden(`${name}.stderr`)
  if (name !== "fail") return local
  return local.replace(
    /\n$/,
    `;\n       last 2 log lines:\n       > line1\n       > line2\n       For full logs, run 'nix log ${
      cases.get("fail")
    }'.\n`
  )
}

/** `path narHash refs:…` of each output, as the goldens record them. */
const outputsLine = (ts: (...a: Array<string>) => Effect.Effect<Run>, outs: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    for (const o of outs) {
      const hash = (yield* ts("-q", "--hash", o)).out.trim()
      const refs = (yield* ts("-q", "--references", o)).out.trim().split("\n").filter((x) => x !== "").sort()
      lines.push(`${o} ${hash} refs:${refs.join(" ")}`)
    }
    return lines
  })

describe.skipIf(!bwrapOk || !sameBusybox)("builds through tsnix daemon (sandboxed, chroot store)", () => {
  it.scopedLive("tsnix's client: -r, -l, --check give what Nix's local -r gave", () =>
    Effect.gen(function*() {
      const { ts } = yield* daemonWithDrvs
      for (const name of ["simple", "multi", "dep", "fodFlat"]) {
        const r = yield* ts("-r", cases.get(name)!)
        expect(r.rc, name).toBe(0)
        expect(r.err, name).toBe(golden(`${name}.stderr`))
        const outs = r.out.trim().split("\n")
        expect((yield* outputsLine(ts, outs)).join("\n"), name).toBe(
          golden(`${name}.outputs`).trim().split("\n").map((l) => l.replace(/ ca:.*$/, "")).join("\n")
        )
      }
      for (const name of ["fail", "fodBad"]) {
        const r = yield* ts("-r", cases.get(name)!)
        expect(r.rc, name).toBe(Number(golden(`${name}.rc`)))
        expect(r.err, name).toBe(withDaemonTail(name))
      }
      const log = yield* ts("-l", cases.get("simple")!)
      expect(log.rc).toBe(0)
      expect(log.out).toBe("hello\nto-stderr\n")
      const check = yield* ts("-r", "--check", cases.get("simple")!)
      expect(check.rc).toBe(0)
      expect(check.err).toContain(`checking outputs of '${cases.get("simple")}'...`)
    }), 120_000)

  it.scopedLive.skipIf(!hasNix)(
    "Nix 2.8's nix-store -r and nix-build through tsnix daemon",
    () =>
      Effect.gen(function*() {
        const { S, dir, ts } = yield* daemonWithDrvs
        const simple = yield* run("nix-store", ["--store", S, "-r", cases.get("simple")!], dir)
        expect(simple.rc).toBe(0)
        expect(simple.err).toBe(golden("simple.stderr"))
        expect(yield* outputsLine(ts, simple.out.trim().split("\n"))).toEqual(
          golden("simple.outputs").trim().split("\n")
        )
        const build = yield* run("nix-build", ["--store", S, "--no-out-link", cases.get("dep")!], dir)
        expect(build.rc).toBe(0)
        expect(build.err).toContain(`building '${cases.get("dep")}'...`)
        expect((yield* outputsLine(ts, build.out.trim().split("\n"))).join("\n")).toBe(golden("dep.outputs").trim())
        const fail = yield* run("nix-store", ["--store", S, "-r", cases.get("fail")!], dir)
        expect(fail.rc).toBe(1)
        expect(fail.err).toBe(withDaemonTail("fail"))
      }),
    120_000
  )
})
