/**
 * The GarbageCollector layer on small stores built with tsnix: roots,
 * temporary roots, runtime roots, max-freed, why-alive, unreadable roots,
 * stale temporary entries.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { spawn } from "node:child_process"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import type { Scope } from "effect"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import { GarbageCollector } from "../../../../src/services/GcStore.js"
import { Lock } from "../../../../src/services/Lock.js"
import { Store } from "../../../../src/services/Store.js"
import { storeLayers, tempBase } from "./helpers.js"
import { LocalStore } from "../../../../src/services/LocalStore.js"

/** A store with a chain c → b → a and an unrelated d, with `root` linked to c. */
const chainStore = (settings: Parameters<typeof storeLayers>[1] = {}) =>
<A, E>(
  f: (
    ctx: { base: string; root: string; a: string; b: string; c: string; d: string }
  ) => Effect.Effect<A, E, GarbageCollector | Store | LocalStore | Lock | Scope.Scope>
) =>
  Effect.scoped(Effect.gen(function*() {
    const base = yield* tempBase
    const root = path.join(base, "root")
    const layout = makeStoreLayout(root)
    const paths = yield* Effect.scoped(Effect.provide(
      Effect.gen(function*() {
        const store = yield* Store
        const a = yield* store.addTextToStore("a", "x".repeat(100000), [])
        const b = yield* store.addTextToStore("b", `refers ${a}`, [a])
        const c = yield* store.addTextToStore("c", `refers ${b}`, [b])
        const d = yield* store.addTextToStore("d", "y".repeat(3000000), [])
        return { a, b, c, d }
      }),
      storeLayers(layout, settings)
    ))
    const gcroots = path.join(layout.stateDir, "gcroots")
    fs.mkdirSync(gcroots, { recursive: true })
    fs.symlinkSync(paths.c, path.join(gcroots, "c"))
    return yield* Effect.provide(f({ base, root, ...paths }), storeLayers(layout, settings))
  }))

describe("GarbageCollector", () => {
  it.scoped("collects the unrooted paths, frees their bytes, keeps the rooted closure", () =>
    chainStore()(({ a, b, c, d }) =>
      Effect.gen(function*() {
        const gc = yield* GarbageCollector
        const store = yield* Store
        const l = yield* gc.liveness
        expect(l.live).toEqual([a, b, c].sort())
        expect(l.dead).toEqual([d])
        const r = yield* gc.collectGarbage()
        expect(r.paths).toEqual([d])
        expect(r.bytesFreed).toBe(3000000)
        expect(yield* store.queryAllValidPaths).toEqual([a, b, c].sort())
        expect(fs.existsSync(path.join((yield* LocalStore).layout.root, d))).toBe(false)
      })
    ))

  it.scoped("--max-freed stops once enough is freed, 0 deletes nothing", () =>
    chainStore()(({ base, a, b, c, d }) =>
      Effect.gen(function*() {
        const gc = yield* GarbageCollector
        fs.unlinkSync(path.join(base, "root/nix/var/nix/gcroots/c"))
        expect((yield* gc.collectGarbage({ maxFreed: 0 })).paths).toEqual([])
        const r = yield* gc.collectGarbage({ maxFreed: 1 })
        // Referrers first (c before b before a); d sorts after them, so c alone is enough.
        expect(r.paths.length).toBe(1)
        expect([c, d]).toContain(r.paths[0])
        const rest = yield* gc.collectGarbage()
        expect([...r.paths, ...rest.paths].sort()).toEqual([a, b, c, d].sort())
      })
    ))

  it.scoped("temporary roots of a live process keep a path and its closure", () =>
    chainStore()(({ b, a, c, d }) =>
      Effect.gen(function*() {
        const gc = yield* GarbageCollector
        const lock = yield* Lock
        yield* lock.addTempRoot(d)
        const l = yield* gc.liveness
        expect(l.live).toEqual([a, b, c, d].sort())
        expect(Either.isLeft(yield* Effect.either(gc.deletePaths([d])))).toBe(true)
        // The temp root is listed by --print-roots.
        const roots = yield* gc.findRoots()
        expect(roots.some((r) => r.target === d && r.link === `{temp:${process.pid}}`)).toBe(true)
      })
    ))

  it.scoped("--delete refuses live paths and paths whose referrers stay", () =>
    chainStore()(({ a, b, c, d }) =>
      Effect.gen(function*() {
        const gc = yield* GarbageCollector
        const live = yield* Effect.either(gc.deletePaths([a]))
        expect(Either.isLeft(live) && live.left.message).toContain(`Cannot delete path '${a}' since it is still alive`)
        const r = yield* gc.deletePaths([d])
        expect(r.paths).toEqual([d])
        // Ignoring liveness, the whole chain may go, referrers first; a alone may not.
        expect(Either.isLeft(yield* Effect.either(gc.deletePaths([a], { ignoreLiveness: true })))).toBe(true)
        const all = yield* gc.deletePaths([a, b, c], { ignoreLiveness: true })
        expect(all.paths).toEqual([c, b, a])
      })
    ))

  it.scoped("why-alive gives the chain from the root", () =>
    chainStore()(({ base, a, b, c, d }) =>
      Effect.gen(function*() {
        const gc = yield* GarbageCollector
        const why = yield* gc.whyAlive(a)
        expect(Option.isSome(why)).toBe(true)
        const w = Option.getOrThrow(why)
        expect(w.root).toBe(c)
        expect(w.links).toEqual([path.join(base, "root/nix/var/nix/gcroots/c")])
        expect(w.chain.map((s) => s.path)).toEqual([c, b, a])
        expect(Option.isNone(yield* gc.whyAlive(d))).toBe(true)
      })
    ))

  // root reads every directory, so this can only be checked as another user.
  it.scoped.skipIf(process.getuid?.() === 0)(
    "an unreadable roots directory aborts the collection",
    () =>
      chainStore()(({ base, d }) =>
        Effect.gen(function*() {
          const sub = path.join(base, "root/nix/var/nix/gcroots/sub")
          fs.mkdirSync(sub)
          fs.chmodSync(sub, 0)
          const gc = yield* GarbageCollector
          const store = yield* Store
          const r = yield* Effect.either(gc.collectGarbage())
          fs.chmodSync(sub, 0o755)
          expect(Either.isLeft(r) && r.left._tag).toBe("GcRootsError")
          expect(yield* store.isValidPath(d)).toBe(true)
        })
      )
  )

  it.scoped("leftover temporary entries of dead processes are removed, live ones kept", () =>
    chainStore()(({ root }) =>
      Effect.gen(function*() {
        const gc = yield* GarbageCollector
        const storeDir = path.join(root, "nix/store")
        const dead = yield* Effect.promise(() =>
          new Promise<number>((resolve) => {
            const ch = spawn(process.execPath, ["-e", ""])
            ch.on("exit", () => resolve(ch.pid as number))
          })
        )
        fs.mkdirSync(path.join(storeDir, `.tsnix-tmp-${dead}-aaaa`))
        fs.writeFileSync(path.join(storeDir, `.tsnix-tmp-${dead}-aaaa`, "f"), "x")
        fs.writeFileSync(path.join(storeDir, `.tsnix-tmp-${process.pid}-bbbb`), "x")
        const r = yield* gc.collectGarbage()
        expect(r.paths).toContain(`/nix/store/.tsnix-tmp-${dead}-aaaa`)
        expect(fs.existsSync(path.join(storeDir, `.tsnix-tmp-${dead}-aaaa`))).toBe(false)
        expect(fs.existsSync(path.join(storeDir, `.tsnix-tmp-${process.pid}-bbbb`))).toBe(true)
      })
    ))

  it.scopedLive("runtime roots: a process with a store path open keeps it", () =>
    chainStore({ gcRuntimeRoots: true })(({ root, d }) =>
      Effect.gen(function*() {
        const gc = yield* GarbageCollector
        const fd = fs.openSync(path.join(root, d), "r")
        const child = spawn("sleep", ["30"], { stdio: [fd, "ignore", "ignore"] })
        fs.closeSync(fd)
        yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
        yield* Effect.sleep("100 millis")
        const l = yield* gc.liveness
        expect(l.live).toContain(d)
        const roots = yield* gc.findRoots()
        expect(roots.some((r) => r.target === d && r.link === `/proc/${child.pid}/fd/0`)).toBe(true)
      })
    ))
})

describe("GcStore roots", () => {
  it.scoped("addPermRoot keeps a path alive across sessions, removeRoot lets it go; a root in the store is refused", () =>
    Effect.gen(function*() {
      const base = yield* tempBase
      const layout = makeStoreLayout(path.join(base, "root"))
      const link = path.join(base, "result")
      const added = yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          const p = yield* (yield* Store).addTextToStore("rooted", "kept\n", [])
          const gc = yield* GarbageCollector
          expect(yield* gc.addPermRoot(p, link)).toBe(link)
          const refused = yield* Effect.flip(gc.addPermRoot(p, path.join(layout.storeDir, "x")))
          expect(refused._tag).toBe("GcRootRefusedError")
          return p
        }),
        storeLayers(layout)
      ))
      expect(fs.readlinkSync(link)).toBe(added)
      const collect = Effect.scoped(Effect.provide(
        Effect.flatMap(GarbageCollector, (gc) => Effect.map(gc.collectGarbage(), (r) => r.paths)),
        storeLayers(layout)
      ))
      expect(yield* collect).toEqual([])
      yield* Effect.scoped(
        Effect.provide(Effect.flatMap(GarbageCollector, (gc) => gc.removeRoot(link)), storeLayers(layout))
      )
      expect(fs.existsSync(link)).toBe(false)
      expect(yield* collect).toEqual([added])
    }))
})
