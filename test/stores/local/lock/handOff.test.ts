/**
 * The live Lock layer hands its temporary roots to a running collector before
 * its temp-roots file goes (Nix 2.8's collector reads permanent roots before
 * temp-roots files: a path made valid in between, whose temp-roots file is
 * removed before the collector reads it, would be collected though a root
 * points at it). Without a collector running, nothing is sent and the file
 * simply goes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LiveLock from "../../../../src/stores/local/lock/layer.js"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.promises.mkdtemp(path.join(os.tmpdir(), "tsnix-handoff-"))),
  (d) => Effect.promise(() => fs.promises.rm(d, { recursive: true, force: true }))
)

const sp = (name: string) => `/nix/store/${"0".repeat(31)}${name.length}-${name}`

describe("temp roots handed to a running collector at release", () => {
  it.scopedLive("roots recorded before the collector started reach it when the adder's layer closes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = makeStoreLayout(dir)
      const tempRootsFile = path.join(dir, "nix/var/nix/temproots", String(process.pid))
      const adderScope = yield* Scope.make()
      const adder = yield* Scope.extend(LiveLock.make(layout), adderScope)
      // No collector yet: the roots go into the file only.
      yield* adder.addTempRoots([sp("before1"), sp("before2")])
      expect(fs.existsSync(tempRootsFile)).toBe(true)
      // Now a collector starts (it would read its permanent roots first, then the files).
      const gc = yield* LiveLock.make(layout)
      const received: Array<string> = []
      const held = yield* Scope.make()
      yield* Scope.extend(gc.gcLock("exclusive"), held)
      yield* Scope.extend(gc.serveTempRoots((p) => Effect.sync(() => received.push(p))), held)
      expect(received).toEqual([])
      yield* Scope.close(adderScope, Exit.void).pipe(Effect.timeout("10 seconds"))
      expect(received).toEqual([sp("before1"), sp("before2")])
      expect(fs.existsSync(tempRootsFile)).toBe(false)
      yield* Scope.close(held, Exit.void)
    }))

  it.scopedLive("without a collector running nothing is sent and the file goes at once", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = makeStoreLayout(dir)
      const tempRootsFile = path.join(dir, "nix/var/nix/temproots", String(process.pid))
      const adderScope = yield* Scope.make()
      const adder = yield* Scope.extend(LiveLock.make(layout), adderScope)
      yield* adder.addTempRoot(sp("alone"))
      const started = Date.now()
      yield* Scope.close(adderScope, Exit.void)
      expect(Date.now() - started).toBeLessThan(1000)
      expect(fs.existsSync(tempRootsFile)).toBe(false)
      // A collector taking the lock afterwards finds no file of ours.
      const gc = yield* LiveLock.make(layout)
      expect((yield* gc.readTempRoots()).roots.size).toBe(0)
    }))
})
