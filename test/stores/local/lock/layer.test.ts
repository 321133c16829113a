/**
 * Fiber-level semantics of the Lock service, run against both the live
 * (flock) layer and the in-memory test layer: the same tests must pass on both.
 * Process-level behaviour (other processes, SIGKILL, flock(1), Nix) is in
 * lock-process.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Logger, LogLevel, Option, Ref, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LiveLock from "../../../../src/stores/local/lock/layer.js"
import * as TestLock from "../../../../src/testing/LockTest.js"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import type { LockShape } from "../../../../src/services/Lock.js"

interface Harness {
  readonly name: string
  /** A fresh store; `instance` makes another "process" (Lock service) on it. */
  readonly setup: Effect.Effect<
    { readonly instance: () => Effect.Effect<LockShape, never, Scope.Scope> },
    never,
    Scope.Scope
  >
}

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.promises.mkdtemp(path.join(os.tmpdir(), "tsnix-lock-"))),
  (d) => Effect.promise(() => fs.promises.rm(d, { recursive: true, force: true }))
)

const harnesses: ReadonlyArray<Harness> = [
  {
    name: "live (flock)",
    setup: Effect.map(tempDir, (dir) => ({ instance: () => LiveLock.make(makeStoreLayout(dir)) }))
  },
  {
    name: "test (in-memory)",
    setup: Effect.sync(() => {
      const world = TestLock.makeWorld()
      return { instance: () => TestLock.make({ world }) }
    })
  }
]

const sp = (name: string) => `/nix/store/${"0".repeat(31)}${name.length}-${name}`

/** Runs `eff` in a new scope that stays open; returns the scope to close later. */
const hold = <A, E>(eff: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const a = yield* Scope.extend(eff, scope)
    return { a, close: Scope.close(scope, Exit.void) }
  })

/** Whether `eff` (a lock acquisition) succeeds at once; the lock is released again. */
const canTake = <A, E>(eff: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.scoped(eff).pipe(Effect.as(true), Effect.catchAll(() => Effect.succeed(false)))

for (const h of harnesses) {
  describe(`Lock ${h.name}`, () => {
    it.scopedLive("exclusive excludes exclusive and shared; shared locks coexist (big lock, GC lock)", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const b = yield* instance()
        for (const lock of ["bigLock", "gcLock"] as const) {
          const now = { timeout: 0 }
          const shared = yield* hold(a[lock]("shared"))
          expect(yield* canTake(b[lock]("shared", now))).toBe(true)
          expect(yield* canTake(b[lock]("exclusive", now))).toBe(false)
          yield* shared.close
          const excl = yield* hold(a[lock]("exclusive"))
          expect(yield* canTake(b[lock]("shared", now))).toBe(false)
          expect(yield* canTake(b[lock]("exclusive", now))).toBe(false)
          // Even the same service instance (another fiber) is excluded.
          expect(yield* canTake(a[lock]("exclusive", now))).toBe(false)
          yield* excl.close
          expect(yield* canTake(b[lock]("exclusive", now))).toBe(true)
        }
      }))

    it.scopedLive("a waiter proceeds as soon as the lock is released", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const b = yield* instance()
        const held = yield* hold(a.lockPaths([sp("x")]))
        const waiter = yield* Effect.fork(Effect.scoped(Effect.as(b.lockPaths([sp("x")]), Date.now())))
        yield* Effect.sleep("150 millis")
        expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
        const releasedAt = Date.now()
        yield* held.close
        const acquiredAt = yield* Fiber.join(waiter)
        expect(acquiredAt - releasedAt).toBeLessThan(300)
      }))

    it.scopedLive("times out with LockTimeoutError", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        yield* a.gcLock("exclusive")
        const start = Date.now()
        const err = yield* Effect.flip(Effect.scoped(a.gcLock("shared", { timeout: "200 millis" })))
        const elapsed = Date.now() - start
        expect(err._tag).toBe("LockTimeoutError")
        expect(elapsed).toBeGreaterThanOrEqual(190)
        expect(elapsed).toBeLessThan(1000)
        const err0 = yield* Effect.flip(Effect.scoped(
          a.lockPaths([sp("y")], { timeout: 0 }).pipe(
            Effect.zipRight(Effect.scoped(a.lockPaths([sp("y")], { timeout: 0 })))
          )
        ))
        expect(err0._tag).toBe("LockTimeoutError")
      }))

    it.scopedLive("an interrupted waiter stops at once and takes nothing", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const b = yield* instance()
        const held = yield* hold(a.bigLock("exclusive"))
        const waiter = yield* Effect.fork(Effect.scoped(Effect.zipRight(b.bigLock("exclusive"), Effect.never)))
        yield* Effect.sleep("100 millis")
        const start = Date.now()
        yield* Fiber.interrupt(waiter)
        // At most one in-flight attempt (open + flock + close) completes first; generous for a loaded CI machine.
        expect(Date.now() - start).toBeLessThan(250)
        yield* held.close
        expect(yield* canTake(a.bigLock("exclusive", { timeout: 0 }))).toBe(true)
      }))

    it.scopedLive("logs the wait message only after the delay, only when waiting", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const messages = yield* Ref.make<ReadonlyArray<string>>([])
        const logger = Logger.make(({ message }) => {
          Effect.runSync(
            Ref.update(messages, (ms) => [...ms, String(Array.isArray(message) ? message.join(" ") : message)])
          )
        })
        // The library logs the wait at Debug (with Nix's level annotated: the CLI shows it).
        const logged = <A, E, R>(eff: Effect.Effect<A, E, R>) =>
          eff.pipe(
            Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
            Logger.withMinimumLogLevel(LogLevel.Debug)
          )
        yield* Effect.scoped(a.lockPaths([sp("m")], { waitMessage: "waiting for m", messageDelay: "50 millis" })).pipe(
          logged
        )
        expect(yield* Ref.get(messages)).toEqual([])
        const held = yield* hold(a.lockPaths([sp("m")]))
        const waiter = yield* Effect.fork(
          Effect.scoped(a.lockPaths([sp("m")], { waitMessage: "waiting for m", messageDelay: "150 millis" })).pipe(
            logged
          )
        )
        yield* Effect.sleep("60 millis")
        expect(yield* Ref.get(messages)).toEqual([])
        yield* Effect.sleep("250 millis")
        expect(yield* Ref.get(messages)).toEqual(["waiting for m"])
        yield* held.close
        yield* Fiber.join(waiter)
        expect(yield* Ref.get(messages)).toEqual(["waiting for m"])
      }))

    it.scopedLive("path locks: sorted, deduplicated, validated; failure and early release free them", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const b = yield* instance()
        const locks = yield* hold(a.lockPaths([sp("c"), sp("a"), sp("b"), sp("a")]))
        expect(locks.a.paths).toEqual([sp("a"), sp("b"), sp("c")])
        expect(yield* canTake(b.lockPaths([sp("b")], { timeout: 0 }))).toBe(false)
        yield* locks.a.release
        yield* locks.a.release // idempotent
        expect(yield* canTake(b.lockPaths([sp("a"), sp("b"), sp("c")], { timeout: 0 }))).toBe(true)
        yield* locks.close

        const bad = yield* Effect.flip(Effect.scoped(a.lockPaths([sp("a"), "/elsewhere/x"])))
        expect(bad._tag).toBe("LockPathError")
        expect((yield* Effect.flip(Effect.scoped(a.lockPaths([`${sp("a")}/sub`]))))._tag).toBe("LockPathError")

        // A failing scope releases its locks.
        const failed = yield* Effect.exit(Effect.scoped(Effect.zipRight(a.lockPaths([sp("a")]), Effect.fail("boom"))))
        expect(Exit.isFailure(failed)).toBe(true)
        expect(yield* canTake(b.lockPaths([sp("a")], { timeout: 0 }))).toBe(true)

        // A timeout on a later path releases the earlier ones at once.
        const c = yield* hold(b.lockPaths([sp("b")]))
        const timedOut = yield* Effect.flip(a.lockPaths([sp("a"), sp("b")], { timeout: "30 millis" }))
        expect(timedOut._tag).toBe("LockTimeoutError")
        expect(yield* canTake(b.lockPaths([sp("a")], { timeout: 0 }))).toBe(true)
        yield* c.close
      }))

    it.scopedLive("tryLockPaths gives None and holds nothing when one path is taken", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const b = yield* instance()
        const held = yield* hold(a.lockPaths([sp("b")]))
        const r = yield* Effect.scoped(b.tryLockPaths([sp("a"), sp("b"), sp("c")]))
        expect(Option.isNone(r)).toBe(true)
        expect(yield* canTake(b.lockPaths([sp("a")], { timeout: 0 }))).toBe(true)
        expect(yield* canTake(b.lockPaths([sp("c")], { timeout: 0 }))).toBe(true)
        yield* held.close
        const ok = yield* Effect.scoped(Effect.map(b.tryLockPaths([sp("a"), sp("b")]), Option.map((l) => l.paths)))
        expect(ok).toEqual(Option.some([sp("a"), sp("b")]))
      }))

    it.scopedLive("fibers taking overlapping path sets in any order: no deadlock, never two holders", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const names = ["p", "q", "r", "s"]
        const holders = new Map<string, number>()
        let violations = 0
        let done = 0
        const worker = (seed: number) =>
          Effect.gen(function*() {
            const lock = yield* instance()
            for (let i = 0; i < 25; i++) {
              const set = names.filter((_, k) => ((seed * 7 + i * 13 + k * 5) % 3) !== 0)
              const order = i % 2 === 0 ? set : [...set].reverse()
              yield* Effect.scoped(Effect.gen(function*() {
                yield* lock.lockPaths(order.map(sp))
                for (const n of set) {
                  if ((holders.get(n) ?? 0) > 0) violations++
                  holders.set(n, (holders.get(n) ?? 0) + 1)
                }
                yield* Effect.sleep("1 millis")
                for (const n of set) holders.set(n, (holders.get(n) ?? 0) - 1)
              }))
              done++
            }
          }).pipe(Effect.scoped)
        yield* Effect.all([0, 1, 2, 3].map(worker), { concurrency: "unbounded" }).pipe(Effect.timeout("20 seconds"))
        expect(violations).toBe(0)
        expect(done).toBe(100)
      }))

    it.scopedLive("relock converts the big lock; a conversion that must wait drops the old lock first", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const b = yield* instance()
        const la = yield* a.bigLock("shared")
        const lb = yield* hold(b.bigLock("shared"))
        const err = yield* Effect.flip(la.relock("exclusive", { timeout: "50 millis" }))
        expect(err._tag).toBe("LockTimeoutError")
        expect(yield* la.mode).toBe("none")
        const upgrading = yield* Effect.fork(la.relock("exclusive"))
        yield* Effect.sleep("50 millis")
        yield* lb.close
        yield* Fiber.join(upgrading)
        expect(yield* la.mode).toBe("exclusive")
        expect(yield* canTake(b.bigLock("shared", { timeout: 0 }))).toBe(false)
        yield* la.relock("shared")
        expect(yield* la.mode).toBe("shared")
        expect(yield* canTake(b.bigLock("shared", { timeout: 0 }))).toBe(true)
        expect(yield* canTake(b.bigLock("exclusive", { timeout: 0 }))).toBe(false)
      }))

    it.scopedLive("temp roots: added roots are read back; invalid paths are refused", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const before = yield* a.readTempRoots()
        expect(before.roots.size).toBe(0)
        yield* a.addTempRoot(sp("t1"))
        yield* Effect.all([sp("t2"), sp("t3"), sp("t1")].map(a.addTempRoot), { concurrency: "unbounded" })
        const r = yield* a.readTempRoots()
        expect([...r.roots].sort()).toEqual([sp("t1"), sp("t2"), sp("t3")])
        expect(r.deadFiles).toEqual([])
        expect([...r.byProcess.values()].flat().sort()).toEqual([sp("t1"), sp("t1"), sp("t2"), sp("t3")])
        expect((yield* Effect.flip(a.addTempRoot("/tmp/nope")))._tag).toBe("LockPathError")
      }))

    it.scopedLive("a collector serving temp roots receives roots added while it holds the GC lock", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const gc = yield* instance()
        const received: Array<string> = []
        const held = yield* Scope.make()
        yield* Scope.extend(gc.gcLock("exclusive"), held)
        yield* Scope.extend(gc.serveTempRoots((p) => Effect.sync(() => received.push(p))), held)
        yield* a.addTempRoot(sp("during")).pipe(Effect.timeout("5 seconds"))
        yield* a.addTempRoot(sp("during2")).pipe(Effect.timeout("5 seconds"))
        expect(received).toEqual([sp("during"), sp("during2")])
        yield* Scope.close(held, Exit.void)
        // The roots were also recorded for later collections.
        expect([...(yield* gc.readTempRoots()).roots].sort()).toEqual([sp("during"), sp("during2")])
        // Without the server, an adder waits again (see below); with the lock free it appends at once.
        yield* a.addTempRoot(sp("after"))
        expect(received.length).toBe(2)
      }))

    it.scopedLive("addTempRoots: many roots at once, read back; sent one by one to a serving collector", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const gc = yield* instance()
        yield* a.addTempRoots([])
        yield* a.addTempRoots([sp("m1"), sp("m2"), sp("m3")])
        expect([...(yield* gc.readTempRoots()).roots].sort()).toEqual([sp("m1"), sp("m2"), sp("m3")])
        expect((yield* Effect.flip(a.addTempRoots([sp("m4"), "/tmp/nope"])))._tag).toBe("LockPathError")
        const received: Array<string> = []
        const held = yield* Scope.make()
        yield* Scope.extend(gc.gcLock("exclusive"), held)
        yield* Scope.extend(gc.serveTempRoots((p) => Effect.sync(() => received.push(p))), held)
        yield* a.addTempRoots([sp("d1"), sp("d2")]).pipe(Effect.timeout("5 seconds"))
        expect(received).toEqual([sp("d1"), sp("d2")])
        yield* Scope.close(held, Exit.void)
        expect([...(yield* gc.readTempRoots()).roots].sort()).toEqual([
          sp("d1"),
          sp("d2"),
          sp("m1"),
          sp("m2"),
          sp("m3")
        ])
      }))

    it.scopedLive("addTempRoot waits while the collector holds the GC lock", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const a = yield* instance()
        const gc = yield* instance()
        const held = yield* hold(gc.gcLock("exclusive"))
        const adding = yield* Effect.fork(a.addTempRoot(sp("late")))
        yield* Effect.sleep("150 millis")
        expect(Option.isNone(yield* Fiber.poll(adding))).toBe(true)
        expect((yield* gc.readTempRoots()).roots.has(sp("late"))).toBe(false)
        yield* held.close
        yield* Fiber.join(adding)
        expect((yield* gc.readTempRoots()).roots.has(sp("late"))).toBe(true)
      }))
  })
}

describe("Lock test layer", () => {
  it.scopedLive("kill() frees the process's locks and leaves dead temp roots, reported once", () =>
    Effect.gen(function*() {
      const world = TestLock.makeWorld()
      const a = yield* TestLock.make({ world, pid: 42 })
      const b = yield* TestLock.make({ world, pid: 43 })
      yield* a.gcLock("exclusive")
      yield* a.lockPaths([sp("k")])
      expect(yield* canTake(b.gcLock("shared", { timeout: 0 }))).toBe(false)
      TestLock.kill(world, 42)
      expect(yield* canTake(b.gcLock("exclusive", { timeout: 0 }))).toBe(true)
      expect(yield* canTake(b.lockPaths([sp("k")], { timeout: 0 }))).toBe(true)
    }))

  it.scopedLive("dead temp-roots owners are reported and removed", () =>
    Effect.gen(function*() {
      const world = TestLock.makeWorld()
      const a = yield* TestLock.make({ world, pid: 7 })
      const b = yield* TestLock.make({ world, pid: 8 })
      yield* a.addTempRoot(sp("dead"))
      yield* b.addTempRoot(sp("alive"))
      TestLock.kill(world, 7)
      const r = yield* b.readTempRoots()
      expect([...r.roots]).toEqual([sp("alive")])
      expect(r.deadFiles).toEqual(["/tsnix-test/nix/var/nix/temproots/7"])
      expect((yield* b.readTempRoots()).deadFiles).toEqual([])
    }))

  it.scopedLive("setDeletion is recorded on release", () =>
    Effect.gen(function*() {
      const world = TestLock.makeWorld()
      const a = yield* TestLock.make({ world })
      yield* Effect.scoped(Effect.flatMap(a.lockPaths([sp("d"), sp("e")]), (l) => l.setDeletion(true)))
      expect([...world.deletedLockFiles].sort()).toEqual([sp("d"), sp("e")].map((p) => `/tsnix-test${p}.lock`))
    }))
})

describe("Lock live (flock), read-only store", () => {
  it.scopedLive("creates nothing; existing lock files are flocked read-only and exclude a writer's", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = makeStoreLayout(dir)
      const ro = yield* LiveLock.make(layout, { readOnly: true })
      const now = { timeout: 0 }
      // No lock files yet: the locks are taken without one, and none is made.
      for (const lock of ["bigLock", "gcLock"] as const) expect(yield* canTake(ro[lock]("exclusive", now))).toBe(true)
      yield* ro.addTempRoot("/nix/store/" + "a".repeat(32) + "-x")
      expect((yield* ro.readTempRoots()).roots.size).toBe(0)
      expect(fs.readdirSync(dir)).toEqual([])
      // Once a writer made them, a read-only holder excludes the writer (and the other way round).
      const rw = yield* LiveLock.make(layout)
      yield* Effect.scoped(rw.gcLock("shared"))
      const shared = yield* hold(ro.gcLock("shared"))
      expect(yield* canTake(rw.gcLock("exclusive", now))).toBe(false)
      yield* shared.close
      const excl = yield* hold(rw.gcLock("exclusive"))
      expect(yield* canTake(ro.gcLock("shared", now))).toBe(false)
      yield* excl.close
      expect(fs.statSync(layout.stateDir + "/gc.lock").size).toBe(0)
    }))
})
