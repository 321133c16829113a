/**
 * Temp-roots sessions against collectors in other processes: a path added in
 * a `Store.tempRootSession` survives a collection run by another process
 * (tsnix's collector, from dist/ through test/fixtures/gc-collector.mjs; Nix
 * 2.8's `nix-store --gc` when installed) while the session is open, and is
 * collected once the session's scope has closed, while this process's store
 * stays open and its process-wide temp roots stay protected. The Nix part is
 * skipped without nix-store (CI).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LocalStoreLayer from "../../../src/stores/local/layer.js"
import { makeStoreLayout } from "../../../src/core/storeLayout.js"
import { Store, withTempRootSession } from "../../../src/services/Store.js"
import { runFixture } from "./gc/procs.js"

const hasNix = spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const nixEnv = {
  ...process.env,
  NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters ="
}
const tsnixBin = path.resolve(import.meta.dirname, "../../../bin/tsnix")

/** Runs a command to completion. */
const run = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  Effect.async<{ status: number | null; stdout: string; stderr: string }>((resume) => {
    const c = spawn(command, [...args], { env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    c.on("close", (status) => resume(Effect.succeed({ status, stdout, stderr })))
    return Effect.sync(() => c.kill("SIGKILL"))
  })

const tempRoot = Effect.acquireRelease(
  Effect.promise(() => fs.promises.mkdtemp(path.join(os.tmpdir(), "tsnix-trsp-"))),
  (d) =>
    Effect.promise(async () => {
      // Store objects are read-only directories.
      spawnSync("chmod", ["-R", "u+w", d])
      await fs.promises.rm(d, { recursive: true, force: true })
    })
).pipe(Effect.map((d) => path.join(d, "root")))

/** One collection by another process. */
type Collect = (root: string) => Effect.Effect<void>

const tsnixCollect: Collect = (root) =>
  Effect.promise(() => runFixture("gc-collector.mjs", [root, "0"])).pipe(
    Effect.tap((r) => Effect.sync(() => expect(r.stderr).toBe(""))),
    Effect.tap((r) => Effect.sync(() => expect(r.stdout).toMatch(/^collected \d+\n$/))),
    Effect.asVoid
  )

const nixCollect: Collect = (root) =>
  run("nix-store", ["--store", root, "--gc"], nixEnv).pipe(
    Effect.tap((r) => Effect.sync(() => expect(r.status, r.stderr).toBe(0))),
    Effect.asVoid
  )

/** The scenario of the module comment, with `collect` as the other process. */
const scenario = (collect: Collect, extra?: (root: string, inSession: string) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const root = yield* tempRoot
    const layout = makeStoreLayout(root)
    yield* Effect.gen(function*() {
      const store = yield* Store
      // Outside any session: a temp root of the process, kept while the store is open.
      const processRooted = yield* store.addTextToStore("process-rooted", "kept\n", [])
      // A session that already ended: its path is garbage.
      const released = yield* withTempRootSession(store.addTextToStore("released-early", "gone\n", []))
      // The open session (a "connection"): an added path with a reference, and an imported one.
      const session = yield* Scope.make()
      yield* Scope.extend(store.tempRootSession, session)
      const dep = yield* store.addTextToStore("session-dep", "dep\n", [])
      const inSession = yield* store.addTextToStore("session-top", `uses ${dep}\n`, [dep])
      const valid = (p: string) => store.isValidPath(p)

      yield* collect(root)
      expect(yield* valid(released)).toBe(false)
      expect(yield* valid(processRooted)).toBe(true)
      expect(yield* valid(inSession)).toBe(true)
      expect(yield* valid(dep)).toBe(true)
      if (extra !== undefined) yield* extra(root, inSession)

      yield* Scope.close(session, Exit.void)
      expect(fs.readdirSync(path.join(layout.stateDir, "temproots"))).toEqual([String(process.pid)])
      yield* collect(root)
      expect(yield* valid(inSession)).toBe(false)
      expect(yield* valid(dep)).toBe(false)
      expect(fs.existsSync(path.join(root, inSession))).toBe(false)
      expect(yield* valid(processRooted)).toBe(true)
    }).pipe(Effect.provide(LocalStoreLayer.layer({ layout, fsyncMetadata: false })), Effect.orDie)
  })

describe("Store.tempRootSession across processes", () => {
  it.scopedLive(
    "tsnix's collector in another process honours a session, then collects it",
    () => scenario(tsnixCollect),
    30_000
  )

  it.scopedLive.skipIf(!hasNix)(
    "Nix 2.8's collector honours a session file (<pid>-<n>), then collects it; --print-roots as Nix",
    () =>
      scenario(nixCollect, (root, inSession) =>
        Effect.gen(function*() {
          // Both print the session's roots as the process's: {temp:<pid>} (Nix reads the pid with stoi).
          const line = `{temp:${process.pid}} -> ${inSession}`
          const nix = yield* run("nix-store", ["--store", root, "--gc", "--print-roots"], nixEnv)
          expect(nix.stdout.split("\n")).toContain(line)
          const ts = yield* run(
            process.execPath,
            [tsnixBin, "--store", root, "--option", "gc-runtime-roots", "false", "--gc", "--print-roots"],
            { ...process.env, NIX_CONFIG: "" }
          )
          expect(ts.status, ts.stderr).toBe(0)
          expect(ts.stdout.split("\n")).toContain(line)
        })),
    30_000
  )
})
