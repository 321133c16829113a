/**
 * Real processes: adders adding, rooting and un-rooting paths in a loop while
 * a collector process collects in a loop. No path an adder holds (temporary
 * root) or roots is ever deleted (the adders check after every add), and the
 * store verifies clean with complete closures at the end.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import { Store } from "../../../../src/services/Store.js"
import { storeLayers, tempBase } from "./helpers.js"
import { runFixture } from "./procs.js"

describe("collector vs concurrent adders (processes)", () => {
  it.live(
    "never deletes a temporarily rooted or rooted path; no reference dangles",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const base = yield* tempBase
        const root = path.join(base, "root")
        const layout = makeStoreLayout(root)
        // Create the store first.
        yield* Effect.scoped(Effect.provide(Effect.flatMap(Store, (s) => s.queryAllValidPaths), storeLayers(layout)))
        const results = yield* Effect.promise(() => {
          const collector = runFixture("gc-collector.mjs", [root, "4000", "300"])
          const adders = (async () => {
            const out = []
            for (let round = 0; round < 2; round++) {
              out.push(
                ...await Promise.all([
                  runFixture("gc-adder.mjs", [root, `a${round}`, "30"]),
                  runFixture("gc-adder.mjs", [root, `b${round}`, "30"])
                ])
              )
            }
            return out
          })()
          return Promise.all([collector, adders])
        })
        const [collector, adders] = results
        for (const a of adders) expect(a.stderr + `status ${a.status}`).toBe("status 0")
        expect(collector.status, collector.stderr).toBe(0)
        const runs = collector.stdout.split("\n").filter((l) => l.startsWith("collected "))
        expect(runs.length).toBeGreaterThan(1)
        // The collector really deleted paths while the adders ran: at least the 300 garbage paths it
        // made itself before its first run (un-rooted paths of finished adders come on top, but on a
        // loaded machine the first round of adders may outlast the collector's 4 s: CI saw 0).
        expect(runs.reduce((n, l) => n + Number(l.split(" ")[1]), 0)).toBeGreaterThanOrEqual(300)
        const finalGc = yield* Effect.promise(() => runFixture("gc-collector.mjs", [root, "0"]))
        expect(finalGc.status, finalGc.stderr).toBe(0)
        yield* Effect.scoped(Effect.provide(
          Effect.gen(function*() {
            const store = yield* Store
            const report = yield* store.verifyStore({ checkContents: true })
            expect(report).toEqual({
              errors: false,
              invalidated: [],
              missingWithReferrers: [],
              modified: [],
              modifiedLinks: []
            })
            const gcroots = path.join(layout.stateDir, "gcroots")
            const rooted = fs.readdirSync(gcroots).filter((n) =>
              !n.endsWith(".tmp") && n !== "per-user" && n !== "profiles"
            ).map((n) => fs.readlinkSync(path.join(gcroots, n)))
            expect(rooted.length).toBeGreaterThan(0)
            const closure = yield* store.computeClosure(rooted)
            for (const p of closure) expect(fs.existsSync(path.join(root, p)), p).toBe(true)
            // After the final collection only the rooted closures remain.
            expect([...(yield* store.queryAllValidPaths)]).toEqual([...closure])
          }),
          storeLayers(layout)
        ))
      })),
    60000
  )
})
