/**
 * Process-level behaviour of the live Lock layer: real child processes (the
 * fixtures in test/fixtures/lock-*.mjs import the compiled code from dist/),
 * flock(1) from util-linux holding locks as Nix would, SIGKILL, and Nix 2.8
 * itself when installed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Schedule, Scope } from "effect"
import { spawn, spawnSync } from "node:child_process"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LiveLock from "../../../../src/stores/local/lock/layer.js"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import type { StoreLayout } from "../../../../src/core/storeLayout.js"

const fixtures = path.join(import.meta.dirname, "../../../fixtures")
const sp = (name: string) => `/nix/store/${"0".repeat(32)}-${name}`

const tempStore = Effect.acquireRelease(
  Effect.promise(() => fs.promises.mkdtemp(path.join(os.tmpdir(), "tsnix-lockp-"))),
  (d) => Effect.promise(() => fs.promises.rm(d, { recursive: true, force: true }))
).pipe(Effect.map((dir) => makeStoreLayout(dir)))

interface Child {
  readonly proc: ChildProcessWithoutNullStreams
  readonly stdout: () => string
  readonly stderr: () => string
  /** Waits until stdout contains `text` (fails after `ms`). */
  readonly waitFor: (text: string, ms?: number) => Effect.Effect<void, Error>
  /** Resolves with the exit code (or signal) and the time it exited. */
  readonly exit: Effect.Effect<{ readonly code: number | null; readonly signal: string | null; readonly at: number }>
}

/** Spawns `command args`; the child is SIGKILLed when the scope closes. */
const spawnChild = (command: string, args: ReadonlyArray<string>, env?: NodeJS.ProcessEnv) =>
  Effect.acquireRelease(
    Effect.sync((): Child => {
      const proc = spawn(command, [...args], { stdio: ["pipe", "pipe", "pipe"], env: env ?? process.env })
      let out = ""
      let err = ""
      proc.stdout.on("data", (d: Buffer) => (out += d.toString()))
      proc.stderr.on("data", (d: Buffer) => (err += d.toString()))
      const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) =>
        proc.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() }))
      )
      const waitFor = (text: string, ms = 10_000) =>
        Effect.suspend(() => (out.includes(text) ? Effect.void : Effect.fail("not yet" as const))).pipe(
          Effect.retry({ while: (e) => e === "not yet", schedule: Schedule.spaced("5 millis") }),
          Effect.timeoutFail({
            duration: ms,
            onTimeout: () => new Error(`child never printed '${text}'; stdout=${out} stderr=${err}`)
          }),
          Effect.catchAll((e) => Effect.fail(e instanceof Error ? e : new Error(String(e))))
        )
      return { proc, stdout: () => out, stderr: () => err, waitFor, exit: Effect.promise(() => exited) }
    }),
    (c) => Effect.sync(() => c.proc.kill("SIGKILL"))
  )

const node = (fixture: string, args: ReadonlyArray<string>) =>
  spawnChild(process.execPath, [path.join(fixtures, fixture), ...args])

/** Whether `eff` succeeds at once (the lock is then released again). */
const canTake = <A, E>(eff: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.scoped(eff).pipe(Effect.as(true), Effect.catchAll(() => Effect.succeed(false)))

const lockOf = (layout: StoreLayout) => LiveLock.make(layout)

describe("Lock live layer across processes", () => {
  it.scopedLive("exclusive excludes; shared coexists; a SIGKILLed holder's lock is free at once", () =>
    Effect.gen(function*() {
      const layout = yield* tempStore
      const lock = yield* lockOf(layout)
      const now = { timeout: 0 }

      const sharedChild = yield* node("lock-holder.mjs", [layout.root, "big", "shared"])
      yield* sharedChild.waitFor("locked")
      expect(yield* canTake(lock.bigLock("shared", now))).toBe(true)
      expect(yield* canTake(lock.bigLock("exclusive", now))).toBe(false)
      sharedChild.proc.stdin.end()
      expect((yield* sharedChild.exit).code).toBe(0)
      expect(yield* canTake(lock.bigLock("exclusive", now))).toBe(true)

      const exclChild = yield* node("lock-holder.mjs", [layout.root, "gc", "exclusive"])
      yield* exclChild.waitFor("locked")
      expect(yield* canTake(lock.gcLock("shared", now))).toBe(false)
      expect(yield* canTake(lock.gcLock("exclusive", now))).toBe(false)
      // A waiter in this process is released by the kernel when the holder is killed.
      const waiter = yield* Effect.fork(Effect.scoped(Effect.as(lock.gcLock("exclusive"), Date.now())))
      exclChild.proc.kill("SIGKILL")
      const { at, signal } = yield* exclChild.exit
      expect(signal).toBe("SIGKILL")
      const acquiredAt = yield* Fiber.join(waiter)
      expect(acquiredAt - at).toBeLessThan(300)
    }))

  it.scopedLive("a child waiting for a path lock proceeds once this process releases it; children exclude us", () =>
    Effect.gen(function*() {
      const layout = yield* tempStore
      const lock = yield* lockOf(layout)
      const scope = yield* Scope.make()
      yield* Scope.extend(lock.lockPaths([sp("b"), sp("a")]), scope)
      const child = yield* node("lock-holder.mjs", [layout.root, "paths", "exclusive", sp("a")])
      yield* child.waitFor("started")
      yield* Effect.sleep("400 millis")
      expect(child.stdout()).toBe("started\n")
      yield* Scope.close(scope, Exit.void)
      yield* child.waitFor("locked", 2000)
      expect(yield* canTake(lock.lockPaths([sp("a")], { timeout: 0 }))).toBe(false)
      expect(yield* canTake(lock.lockPaths([sp("b")], { timeout: 0 }))).toBe(true)
      child.proc.stdin.end()
      expect((yield* child.exit).code).toBe(0)
      expect(yield* canTake(lock.lockPaths([sp("a")], { timeout: 0 }))).toBe(true)
    }))

  it.scopedLive("interop with flock(1): its locks make us wait, ours make it fail", () =>
    Effect.gen(function*() {
      const layout = yield* tempStore
      const lock = yield* lockOf(layout)
      const lockFile = path.join(layout.realStoreDir, `${"0".repeat(32)}-f.lock`)
      fs.mkdirSync(layout.realStoreDir, { recursive: true })

      const holder = yield* spawnChild("/usr/bin/flock", ["-x", lockFile, "-c", "echo locked; read x; exit 0"])
      yield* holder.waitFor("locked")
      const waiter = yield* Effect.fork(Effect.scoped(Effect.as(lock.lockPaths([sp("f")]), Date.now())))
      yield* Effect.sleep("300 millis")
      expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
      holder.proc.stdin.end()
      const { at, code } = yield* holder.exit
      expect(code).toBe(0)
      expect((yield* Fiber.join(waiter)) - at).toBeLessThan(300)

      // flock -s on the big lock, as every Nix store user holds it.
      const bigLock = path.join(layout.dbDir, "big-lock")
      fs.mkdirSync(layout.dbDir, { recursive: true })
      const user = yield* spawnChild("/usr/bin/flock", ["-s", bigLock, "-c", "echo locked; read x; exit 0"])
      yield* user.waitFor("locked")
      expect(yield* canTake(lock.bigLock("shared", { timeout: 0 }))).toBe(true)
      expect(yield* canTake(lock.bigLock("exclusive", { timeout: "100 millis" }))).toBe(false)
      user.proc.stdin.end()
      yield* user.exit

      // The other way round: while we hold a lock, flock -n fails (exit 1), and succeeds after.
      const held = yield* Scope.make()
      yield* Scope.extend(lock.gcLock("exclusive"), held)
      const gcLock = path.join(layout.stateDir, "gc.lock")
      expect(spawnSync("/usr/bin/flock", ["-n", "-s", gcLock, "true"]).status).toBe(1)
      yield* Scope.close(held, Exit.void)
      expect(spawnSync("/usr/bin/flock", ["-n", "-x", gcLock, "true"]).status).toBe(0)
    }))

  it.scopedLive("deletion protocol: a waiter on a deleted lock file retries on the new one", () =>
    Effect.gen(function*() {
      const layout = yield* tempStore
      const lock = yield* lockOf(layout)
      const lockFile = `${path.join(layout.root, sp("del"))}.lock`
      const held = yield* Scope.make()
      const locks = yield* Scope.extend(lock.lockPaths([sp("del")]), held)
      yield* locks.setDeletion(true)
      // flock(1) opens the current file and waits on it (as a Nix process would).
      const oldWaiter = yield* spawnChild("/usr/bin/flock", ["-x", lockFile, "-c", "echo locked; read x; exit 0"])
      const child = yield* node("lock-holder.mjs", [layout.root, "paths", "exclusive", sp("del")])
      yield* child.waitFor("started")
      yield* oldWaiter.waitFor("locked", 300).pipe(Effect.flip) // still waiting
      expect(child.stdout()).toBe("started\n")
      const oldInode = fs.statSync(lockFile).ino
      yield* locks.release
      // The file we held was unlinked and marked "d"; the tsnix child retried and holds a fresh file.
      yield* child.waitFor("locked", 3000)
      expect(fs.statSync(lockFile).size).toBe(0)
      // flock(1) is not Nix: it got the lock on the deleted file, which is why Nix checks the size.
      yield* oldWaiter.waitFor("locked", 3000)
      expect(fs.statSync(lockFile).ino).not.toBe(oldInode)
      expect(yield* canTake(lock.lockPaths([sp("del")], { timeout: 0 }))).toBe(false)
      child.proc.stdin.end()
      oldWaiter.proc.stdin.end()
      yield* child.exit
      // Released without deletion: the file stays; with deletion and no waiter: it is gone.
      expect(fs.existsSync(lockFile)).toBe(true)
      yield* Effect.scoped(Effect.flatMap(lock.lockPaths([sp("del")]), (l) => l.setDeletion(true)))
      expect(fs.existsSync(lockFile)).toBe(false)
    }))

  it.scopedLive("temp roots written by one process are read by another; a dead owner is recognised", () =>
    Effect.gen(function*() {
      const layout = yield* tempStore
      const lock = yield* lockOf(layout)
      const dir = path.join(layout.stateDir, "temproots")

      const child = yield* node("lock-temproots.mjs", [layout.root, "--stale", sp("r1"), sp("r2")])
      yield* child.waitFor("ready")
      const pid = String(child.proc.pid)
      const live = yield* lock.readTempRoots()
      expect(live.byProcess.get(pid)).toEqual([sp("r1"), sp("r2")]) // the planted stale file was replaced
      expect(live.deadFiles).toEqual([])
      expect(fs.readFileSync(path.join(dir, pid), "latin1")).toBe(`${sp("r1")}\0${sp("r2")}\0`)

      child.proc.kill("SIGKILL")
      yield* child.exit
      const dead = yield* lock.readTempRoots({ removeDead: false })
      expect(dead.deadFiles).toEqual([path.join(dir, pid)])
      expect(dead.roots.size).toBe(0)
      expect(fs.existsSync(path.join(dir, pid))).toBe(true)
      expect((yield* lock.readTempRoots()).deadFiles).toEqual([path.join(dir, pid)])
      expect(fs.existsSync(path.join(dir, pid))).toBe(false)

      // A clean exit removes the file.
      const clean = yield* node("lock-temproots.mjs", [layout.root, sp("r3")])
      yield* clean.waitFor("ready")
      expect([...(yield* lock.readTempRoots()).roots]).toEqual([sp("r3")])
      clean.proc.stdin.end()
      expect((yield* clean.exit).code).toBe(0)
      expect(fs.existsSync(path.join(dir, String(clean.proc.pid)))).toBe(false)
    }))

  it.scopedLive("stress: 4 processes x 30 iterations of random path sets in random order", () =>
    Effect.gen(function*() {
      const layout = yield* tempStore
      const markers = path.join(layout.root, "markers")
      fs.mkdirSync(markers)
      const names = ["a", "b", "c", "d", "e", "f"]
      const children = yield* Effect.forEach(
        [1, 2, 3, 4],
        () => node("lock-stress.mjs", [layout.root, markers, "30", ...names])
      )
      yield* Effect.forEach(children, (c) => c.waitFor("ready", 30_000))
      const start = Date.now()
      for (const c of children) c.proc.stdin.write("go\n")
      const exits = yield* Effect.forEach(children, (c) => c.exit, { concurrency: "unbounded" }).pipe(
        Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("stress test deadlocked") })
      )
      expect(exits.map((e) => e.code), children.map((c) => c.stderr()).join("\n")).toEqual([0, 0, 0, 0])
      expect(children.map((c) => c.stdout().trim())).toEqual(Array(4).fill("ready\ndone 30"))
      expect(fs.readdirSync(markers)).toEqual([])
      console.log(`lock stress: 4 x 30 iterations in ${Date.now() - start} ms`)
    }))
})
