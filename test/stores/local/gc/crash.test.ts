/**
 * SIGKILL a collector at random moments, many times, on a store refilled with
 * garbage between rounds: the store always verifies clean afterwards (no
 * valid path without its files, no modified path, no dangling reference),
 * the rooted closure survives, and a final collection removes the rest.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import { Store } from "../../../../src/services/Store.js"
import { storeLayers, tempBase } from "./helpers.js"
import { runFixture } from "./procs.js"

describe("collector killed at random moments", () => {
  it.live("leaves a store that verifies clean", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* tempBase
      const root = path.join(base, "root")
      const layout = makeStoreLayout(root)
      const kept = yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          const a = yield* store.addTextToStore("kept-a", "a", [])
          return yield* store.addTextToStore("kept-b", `b ${a}`, [a])
        }),
        storeLayers(layout)
      ))
      fs.mkdirSync(path.join(layout.stateDir, "gcroots"), { recursive: true })
      fs.symlinkSync(kept, path.join(layout.stateDir, "gcroots", "kept"))
      let killed = 0
      // Waves of 3 concurrent children (they serialise on the GC lock) until 20+ were killed.
      // The kill comes 0-60 ms after the garbage is in place: mostly inside the collection,
      // sometimes before it starts or after it ends (both must be harmless too).
      for (let round = 0; killed < 21 && round < 16; round++) {
        // Each child adds 120 garbage paths, then collects; it is killed at a random moment of the collection.
        const rs = yield* Effect.promise(() =>
          Promise.all([0, 1, 2].map(() =>
            runFixture("gc-collector.mjs", [root, "0", "120"], Math.floor(Math.random() * 60), "populated")
          ))
        )
        for (const r of rs) {
          if (r.signal === "SIGKILL") {
            killed++
          } else expect(r.status, r.stderr).toBe(0)
        }
        yield* Effect.scoped(Effect.provide(
          Effect.gen(function*() {
            const store = yield* Store
            const report = yield* store.verifyStore({ checkContents: true })
            expect(report, `round ${round}`).toEqual({
              errors: false,
              invalidated: [],
              missingWithReferrers: [],
              modified: [],
              modifiedLinks: []
            })
            expect(yield* store.computeClosure([kept])).toHaveLength(2)
          }),
          storeLayers(layout)
        ))
      }
      expect(killed).toBeGreaterThanOrEqual(20)
      const last = yield* Effect.promise(() =>
        runFixture("gc-collector.mjs", [root, "0"])
      )
      expect(last.status, last.stderr).toBe(0)
      yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          expect([...(yield* store.queryAllValidPaths)]).toEqual([...(yield* store.computeClosure([kept]))])
          const left = fs.readdirSync(layout.realStoreDir).filter((n) => !n.endsWith(".lock") && n !== ".links")
          expect(left.sort()).toEqual(
            (yield* store.queryAllValidPaths).map((p) => p.slice("/nix/store/".length)).sort()
          )
        }),
        storeLayers(layout)
      ))
    })), 240_000)
})
