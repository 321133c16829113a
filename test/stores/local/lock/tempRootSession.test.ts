/**
 * Temp-roots sessions (`Lock.tempRootSession`), fiber-level, on the live
 * (flock) layer and the in-memory test layer: roots taken in a session are
 * kept apart and released when its scope closes, while the Lock stays open.
 * Process-level behaviour (another process's collector, Nix 2.8's) is in
 * test/stores/local/tempRootSession-process.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LiveLock from "../../../../src/stores/local/lock/layer.js"
import * as TestLock from "../../../../src/testing/LockTest.js"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import type { LockShape } from "../../../../src/services/Lock.js"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.promises.mkdtemp(path.join(os.tmpdir(), "tsnix-trs-"))),
  (d) => Effect.promise(() => fs.promises.rm(d, { recursive: true, force: true }))
)

interface Harness {
  readonly name: string
  readonly setup: Effect.Effect<
    { readonly instance: () => Effect.Effect<LockShape, never, Scope.Scope> },
    never,
    Scope.Scope
  >
}

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

/** The roots per temp-roots file, as a collector sees them. */
const byFile = (lock: LockShape) =>
  Effect.map(lock.readTempRoots({ removeDead: false }), (t) => [...t.byProcess.values()].map((r) => [...r].sort()))

/** Opens a session in a scope of its own, closed later. */
const openSession = (lock: LockShape) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Scope.extend(lock.tempRootSession, scope)
    return Scope.close(scope, Exit.void)
  })

for (const h of harnesses) {
  describe(`Lock.tempRootSession (${h.name})`, () => {
    it.scopedLive("a session's roots are held apart and released with its scope; the process's stay", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const lock = yield* instance()
        const observer = yield* instance()
        yield* lock.addTempRoot(sp("outside"))
        yield* Effect.scoped(Effect.gen(function*() {
          yield* lock.tempRootSession
          yield* lock.addTempRoot(sp("in1"))
          yield* lock.addTempRoots([sp("in2"), sp("in3")])
          // A fiber forked inside inherits the session.
          yield* Fiber.join(yield* Effect.fork(lock.addTempRoot(sp("forked"))))
          const files = yield* byFile(observer)
          expect(files).toHaveLength(2)
          expect(files).toContainEqual([sp("outside")])
          expect(files).toContainEqual([sp("forked"), sp("in1"), sp("in2"), sp("in3")].sort())
        }))
        // Released: only the process's own root remains, and the Lock still works.
        expect(yield* byFile(observer)).toEqual([[sp("outside")]])
        yield* lock.addTempRoot(sp("after"))
        expect(yield* byFile(observer)).toEqual([[sp("after"), sp("outside")].sort()])
      }))

    it.scopedLive("sessions are independent, nest, and a closed session's late roots go to the process", () =>
      Effect.gen(function*() {
        const { instance } = yield* h.setup
        const lock = yield* instance()
        const observer = yield* instance()
        // Two concurrent sessions (two "connections") in two fibers.
        const closeA = yield* openSession(lock)
        yield* lock.addTempRoot(sp("a"))
        const b = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
          yield* lock.tempRootSession
          yield* lock.addTempRoot(sp("b"))
          // Nested: the inner session holds its roots until it closes.
          yield* Effect.scoped(Effect.zipRight(lock.tempRootSession, lock.addTempRoot(sp("inner"))))
          yield* lock.addTempRoot(sp("b2"))
          return yield* byFile(observer)
        })))
        const duringB = yield* Fiber.join(b)
        expect(duringB).toHaveLength(2)
        expect(duringB).toContainEqual([sp("a")])
        expect(duringB).toContainEqual([sp("b"), sp("b2")].sort())
        expect(yield* byFile(observer)).toEqual([[sp("a")]])
        // A fiber that inherited session A keeps adding after A closed: its root is not lost.
        const late = yield* Effect.fork(Effect.zipRight(Effect.sleep("30 millis"), lock.addTempRoot(sp("late"))))
        yield* closeA
        expect(yield* byFile(observer)).toEqual([])
        yield* Fiber.join(late)
        expect(yield* byFile(observer)).toEqual([[sp("late")]])
      }))

    it.scopedLive("a session of one store does not capture another store's roots", () =>
      Effect.gen(function*() {
        const one = yield* h.setup
        const other = yield* h.setup
        const lockOne = yield* one.instance()
        const lockOther = yield* other.instance()
        yield* Effect.scoped(Effect.gen(function*() {
          yield* lockOne.tempRootSession
          yield* lockOther.addTempRoot(sp("x"))
        }))
        expect(yield* byFile(yield* other.instance())).toEqual([[sp("x")]])
      }))
  })
}

describe("Lock.tempRootSession files (live)", () => {
  it.scopedLive("`<pid>-<n>` beside `<pid>`, created on the first root, deleted on release", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = makeStoreLayout(dir)
      const lock = yield* LiveLock.make(layout)
      const tempRootsDir = path.join(layout.stateDir, "temproots")
      const list = () => (fs.existsSync(tempRootsDir) ? fs.readdirSync(tempRootsDir).sort() : [])
      yield* lock.addTempRoot(sp("p"))
      expect(list()).toEqual([String(process.pid)])
      yield* Effect.scoped(Effect.gen(function*() {
        yield* lock.tempRootSession
        expect(list()).toEqual([String(process.pid)]) // nothing yet
        yield* lock.addTempRoot(sp("s"))
        const names = list()
        expect(names).toHaveLength(2)
        const session = names.find((n) => n !== String(process.pid))
        expect(session).toMatch(new RegExp(`^${process.pid}-\\d+$`))
        expect(fs.readFileSync(path.join(tempRootsDir, session ?? ""), "latin1")).toBe(sp("s") + "\0")
      }))
      expect(list()).toEqual([String(process.pid)])
      // A session that took no root leaves nothing behind.
      yield* Effect.scoped(lock.tempRootSession)
      expect(list()).toEqual([String(process.pid)])
    }))

  it.scopedLive("a read-only store: the session is a no-op", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = makeStoreLayout(dir)
      const lock = yield* LiveLock.make(layout, { readOnly: true })
      yield* Effect.scoped(Effect.zipRight(lock.tempRootSession, lock.addTempRoot(sp("s"))))
      expect(fs.existsSync(path.join(layout.stateDir, "temproots"))).toBe(false)
    }))
})
