/**
 * Temporaries in the store directory, tsnix's and Nix 2.8's: named so that
 * both collectors keep them while their creator lives (tsnix's are named like
 * store paths and rooted), deleted by tsnix's collector once it is dead.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import { parseStorePathBaseName } from "../../../../src/core/storePath.js"
import { GarbageCollector } from "../../../../src/services/GcStore.js"
import { Lock } from "../../../../src/services/Lock.js"
import { Store } from "../../../../src/services/Store.js"
import { classifyEntries, nixTempOwner } from "../../../../src/stores/local/gc/liveness.js"
import {
  makeRootedTempPath,
  makeTempName,
  tempPathOwner,
  tempPrefix
} from "../../../../src/stores/local/ops/tempPath.js"
import { storeLayers, tempBase } from "./helpers.js"

/** A child process that lives until the scope closes (then is killed and reaped). */
const liveChild = Effect.acquireRelease(
  Effect.async<ChildProcess>((resume) => {
    const c = spawn("sleep", ["600"], { stdio: "ignore" })
    c.once("spawn", () => resume(Effect.succeed(c)))
  }),
  (c) =>
    Effect.async<void>((resume) => {
      if (c.exitCode !== null || c.signalCode !== null) return resume(Effect.void)
      c.once("exit", () => resume(Effect.void))
      c.kill("SIGKILL")
    })
)

const killAndWait = (c: ChildProcess) =>
  Effect.async<void>((resume) => {
    c.once("exit", () => resume(Effect.void))
    c.kill("SIGKILL")
  })

/** Creates each kind of temporary owned by `pid` in `real`; returns their names. */
const makeTemps = (real: string, pid: number): Array<string> => {
  const names = [
    `add-${pid}-0`,
    `.tmp-link-${pid}-12345`,
    `${makeTempName().replace(`-${process.pid}-`, `-${pid}-`)}`,
    `${tempPrefix}${pid}-abcdef`
  ]
  for (const n of names.slice(0, 1).concat(names.slice(2))) {
    fs.mkdirSync(path.join(real, n))
    fs.writeFileSync(path.join(real, n, "x"), "in progress")
  }
  fs.writeFileSync(path.join(real, names[1] as string), "a link")
  return names
}

describe("temporaries in the store directory", () => {
  it("tsnix's temporary names parse as store paths, carry the pid, and old names are still recognised", () => {
    const n = makeTempName()
    expect(Either.isRight(parseStorePathBaseName(n))).toBe(true)
    expect(tempPathOwner(n)).toBe(process.pid)
    expect(tempPathOwner(`${tempPrefix}42-ab`)).toBe(42)
    expect(tempPathOwner("00000000000000000000000000000000-tsnix-tmp")).toBeUndefined()
    expect(nixTempOwner("add-123-0")).toBe(123)
    expect(nixTempOwner(".tmp-link-77-991")).toBe(77)
    expect(nixTempOwner("add-x-0")).toBeUndefined()
    expect(nixTempOwner("added-1-2")).toBeUndefined()
    const e = classifyEntries("/nix/store", [n, "add-5-1", ".tmp-link-6-2", "junk"])
    expect(e.tempEntries.map((t) => t.pid).sort()).toEqual([5, 6, process.pid].sort())
    expect(e.storePaths).toEqual([])
    expect(e.others).toEqual(["junk"])
  })

  it.scoped("a rooted temporary is a temporary root of this process before it exists", () =>
    Effect.gen(function*() {
      const base = yield* tempBase
      const layout = makeStoreLayout(path.join(base, "root"))
      yield* Effect.provide(
        Effect.gen(function*() {
          const lock = yield* Lock
          const temp = yield* makeRootedTempPath(layout, lock)
          expect(fs.existsSync(temp)).toBe(false)
          const roots = yield* lock.readTempRoots()
          expect(roots.roots.has(`${layout.storeDir}/${path.basename(temp)}`)).toBe(true)
        }),
        storeLayers(layout)
      )
    }))

  it.scoped("the collector keeps the temporaries of a live process (Nix's add-*, tmp links, tsnix's) and deletes them once it is dead", () =>
    Effect.gen(function*() {
      const base = yield* tempBase
      const layout = makeStoreLayout(path.join(base, "root"))
      // Added in a store session of its own, so that it is not a temporary root of the collecting one.
      const dead = yield* Effect.scoped(
        Effect.provide(Effect.flatMap(Store, (s) => s.addTextToStore("dead", "garbage", [])), storeLayers(layout))
      )
      yield* Effect.provide(
        Effect.gen(function*() {
          const gc = yield* GarbageCollector
          const child = yield* liveChild
          const pid = child.pid as number
          const names = makeTemps(layout.realStoreDir, pid)
          const r1 = yield* gc.collectGarbage()
          expect(r1.paths).toContain(dead)
          for (const n of names) {
            expect(fs.existsSync(path.join(layout.realStoreDir, n)), n).toBe(true)
            expect(r1.paths).not.toContain(`${layout.storeDir}/${n}`)
          }
          yield* killAndWait(child)
          const r2 = yield* gc.collectGarbage()
          for (const n of names) {
            expect(fs.existsSync(path.join(layout.realStoreDir, n)), n).toBe(false)
            expect(r2.paths).toContain(`${layout.storeDir}/${n}`)
          }
        }),
        storeLayers(layout)
      )
    }))
})
