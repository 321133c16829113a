/**
 * An in-process Lock layer for tests: no files, the same semantics as the live
 * layer (it shares the waiting, ordering, timeout and release code in
 * `src/stores/local/lock/make.ts`; only the lock table is in memory).
 *
 * A {@link LockTestWorld} plays the role of the machine: several layers built
 * on one world behave like several processes on the same store, each with its
 * own `pid`; {@link kill} simulates SIGKILL of one of them.
 *
 * @since 0.1.0
 */
import { Effect, FiberRef, Layer, Option } from "effect"
import type { Scope } from "effect"
import * as path from "node:path"
import { busy, waitFor } from "../stores/local/lock/acquire.js"
import { makeLockOps } from "../stores/local/lock/make.js"
import type { LockBackend } from "../stores/local/lock/make.js"
import { checkStorePath } from "../stores/local/lock/storePaths.js"
import { makeStoreLayout, toRealPath } from "../core/storeLayout.js"
import type { StoreLayout } from "../core/storeLayout.js"
import { Lock } from "../services/Lock.js"
import type { LockMode, LockShape, TempRoots } from "../services/Lock.js"

interface KeyState {
  exclusive: number | undefined
  readonly shared: Set<number>
}

interface ProcessState {
  alive: boolean
  /** The temp roots "file": present once the process added a root. */
  roots: Array<string> | undefined
  /** Lock tokens held by the process. */
  readonly tokens: Map<number, string>
  /** For a temp-roots session's "file": the pid of the process that holds it. */
  readonly owner?: number
}

/** The shared state of simulated processes: a lock table and their temp roots. */
export interface LockTestWorld {
  /** Holders of each lock key. */
  readonly locks: Map<string, KeyState>
  /** Simulated processes by pid. */
  readonly processes: Map<number, ProcessState>
  /** Lock keys released with the deletion protocol, in order (for inspection). */
  readonly deletedLockFiles: Array<string>
  /** The collector's root handler while one serves temp roots (`serveTempRoots`). */
  collector: ((storePath: string) => Effect.Effect<void>) | undefined
  /** Next token / pid to hand out. */
  next: number
}

/** A fresh, empty world. */
export const makeWorld = (): LockTestWorld => ({
  locks: new Map(),
  processes: new Map(),
  deletedLockFiles: [],
  collector: undefined,
  next: 1
})

/** Simulates SIGKILL of process `pid`: the "kernel" drops its locks; its temp roots stay, now dead. */
export const kill = (world: LockTestWorld, pid: number): void => {
  const p = world.processes.get(pid)
  if (p === undefined) return
  p.alive = false
  for (const [token, key] of p.tokens) drop(world, key, token)
  p.tokens.clear()
  // Its temp-roots sessions die with it.
  for (const s of world.processes.values()) if (s.owner === pid) s.alive = false
}

const drop = (world: LockTestWorld, key: string, token: number): void => {
  const s = world.locks.get(key)
  if (s === undefined) return
  if (s.exclusive === token) s.exclusive = undefined
  s.shared.delete(token)
  if (s.exclusive === undefined && s.shared.size === 0) world.locks.delete(key)
}

/** Grants `mode` on `key` to `token` if no other token conflicts (flock semantics). */
const grant = (world: LockTestWorld, key: string, token: number, mode: LockMode): boolean => {
  const s = world.locks.get(key) ?? { exclusive: undefined, shared: new Set<number>() }
  const othersShared = s.shared.size - (s.shared.has(token) ? 1 : 0)
  const free = (s.exclusive === undefined || s.exclusive === token) && (mode === "shared" || othersShared === 0)
  if (!free) return false
  s.shared.delete(token)
  if (s.exclusive === token) s.exclusive = undefined
  if (mode === "exclusive") s.exclusive = token
  else s.shared.add(token)
  world.locks.set(key, s)
  return true
}

interface TokenHandle {
  readonly key: string
  readonly token: number
}

/** Options of the test layer. */
export interface LockTestOptions {
  /** The world shared with other simulated processes (default: a private one). */
  readonly world?: LockTestWorld
  /** The store layout whose lock-file paths serve as keys (default: root `/tsnix-test`). */
  readonly layout?: StoreLayout
  /** This simulated process's pid (default: the next free number of the world). */
  readonly pid?: number
}

/** Builds an in-memory Lock service acting as one process of the world. */
export const make = (options: LockTestOptions = {}): Effect.Effect<LockShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const world = options.world ?? makeWorld()
    const layout = options.layout ?? makeStoreLayout("/tsnix-test")
    const pid = options.pid ?? world.next++
    const proc: ProcessState = { alive: true, roots: undefined, tokens: new Map() }
    world.processes.set(pid, proc)
    const tempRootsDir = path.join(layout.stateDir, "temproots")
    const keys = {
      storeDir: layout.storeDir,
      bigLock: path.join(layout.dbDir, "big-lock"),
      gcLock: path.join(layout.stateDir, "gc.lock"),
      pathLock: (p: string) => toRealPath(layout, p) + ".lock"
    }
    const backend: LockBackend<TokenHandle> = {
      tryLock: (key, mode) =>
        Effect.sync(() => {
          const token = world.next++
          if (!proc.alive || !grant(world, key, token, mode)) return Option.none()
          proc.tokens.set(token, key)
          return Option.some({ key, token })
        }),
      convert: (h, mode) =>
        Effect.sync(() => {
          if (!proc.alive) return false
          if (grant(world, h.key, h.token, mode)) return true
          drop(world, h.key, h.token) // like flock on Linux: a failed conversion loses the old lock
          return false
        }),
      unlock: (h) => Effect.sync(() => drop(world, h.key, h.token)),
      isStale: () => Effect.succeed(false),
      release: (h, deletion) =>
        Effect.sync(() => {
          if (deletion && proc.tokens.has(h.token)) world.deletedLockFiles.push(h.key)
          drop(world, h.key, h.token)
          proc.tokens.delete(h.token)
        })
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => world.processes.delete(pid)))

    // The current fiber's session "file" (its own entry of world.processes), as in the live layer.
    const currentSession = FiberRef.unsafeMake<Option.Option<ProcessState>>(Option.none())

    const tempRootSession: LockShape["tempRootSession"] = Effect.gen(function*() {
      const key = world.next++
      const session: ProcessState = { alive: true, roots: undefined, tokens: new Map(), owner: pid }
      world.processes.set(key, session)
      yield* Effect.addFinalizer(() => Effect.sync(() => world.processes.delete(key)))
      yield* Effect.locallyScoped(currentSession, Option.some(session))
    })

    const addTempRoot: LockShape["addTempRoot"] = (storePath) =>
      Effect.gen(function*() {
        yield* checkStorePath(layout.storeDir, storePath)
        const session = yield* FiberRef.get(currentSession)
        const append = Effect.sync(() => {
          // A closed session's roots go to the process, as in the live layer.
          const target = Option.isSome(session) && [...world.processes.values()].includes(session.value)
            ? session.value
            : proc
          target.roots = [...(target.roots ?? []), storePath]
        })
        const attempt = Effect.suspend(() => {
          // As in the live layer: append while no collector holds gc.lock, else tell the collector first.
          if (world.locks.get(keys.gcLock)?.exclusive === undefined) return append
          const collector = world.collector
          return collector === undefined ? Effect.fail(busy) : Effect.zipRight(collector(storePath), append)
        })
        yield* waitFor<void, never, never>(
          attempt,
          keys.gcLock,
          "waiting for the garbage collector to accept a temporary root..."
        )
      }).pipe(Effect.withSpan("LockTest.addTempRoot"))

    const readTempRoots: LockShape["readTempRoots"] = (opts) =>
      Effect.sync((): TempRoots => {
        const roots = new Set<string>()
        const byProcess = new Map<string, ReadonlyArray<string>>()
        const deadFiles: Array<string> = []
        for (const [p, st] of [...world.processes].sort((a, b) => a[0] - b[0])) {
          if (st.roots === undefined) continue
          if (!st.alive) {
            deadFiles.push(path.join(tempRootsDir, String(p)))
            if (opts?.removeDead ?? true) world.processes.delete(p)
            continue
          }
          byProcess.set(String(p), [...st.roots])
          for (const r of st.roots) roots.add(r)
        }
        return { roots, byProcess, deadFiles }
      }).pipe(Effect.withSpan("LockTest.readTempRoots"))

    const serveTempRoots: LockShape["serveTempRoots"] = (onRoot) =>
      Effect.gen(function*() {
        const context = yield* Effect.context<Effect.Effect.Context<ReturnType<typeof onRoot>>>()
        const collector = (p: string) => Effect.provide(onRoot(p), context)
        yield* Effect.acquireRelease(
          Effect.sync(() => (world.collector = collector)),
          () =>
            Effect.sync(() => {
              if (world.collector === collector) world.collector = undefined
            })
        )
      })

    const addTempRoots: LockShape["addTempRoots"] = (storePaths) =>
      Effect.zipRight(
        // All checked first, as the live layer does: a bad path adds none.
        Effect.forEach(storePaths, (p) => checkStorePath(layout.storeDir, p), { discard: true }),
        Effect.forEach(storePaths, addTempRoot, { discard: true })
      )

    return {
      ...makeLockOps(backend, keys),
      addTempRoot,
      addTempRoots,
      tempRootSession,
      readTempRoots,
      serveTempRoots
    } satisfies LockShape
  })

/** The in-memory Lock layer (see {@link LockTestOptions}). */
export const layer = (options?: LockTestOptions): Layer.Layer<Lock> => Layer.scoped(Lock, make(options))
