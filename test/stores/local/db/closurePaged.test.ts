/**
 * computeClosureYielding (the collector's closure, read in pages) gives
 * computeClosure's answer (the recursive SQL) for any store, root set,
 * direction and output/deriver flags; and it lets the event loop run while it
 * works on a long chain.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import type { PathRegistration } from "../../../../src/services/StoreDb.js"
import { fakeHash, fakePath, openStoreDb, tempLayout } from "./helpers.js"

/** A random store: node i refers to some j < i; some nodes are derivations with outputs and derivers. */
const storeArb = FastCheck.record({
  size: FastCheck.integer({ min: 1, max: 40 }),
  refs: FastCheck.array(FastCheck.tuple(FastCheck.nat(39), FastCheck.nat(39)), { maxLength: 80 }),
  outputs: FastCheck.array(FastCheck.tuple(FastCheck.nat(39), FastCheck.nat(39)), { maxLength: 20 }),
  derivers: FastCheck.array(FastCheck.tuple(FastCheck.nat(39), FastCheck.nat(39)), { maxLength: 20 }),
  roots: FastCheck.array(FastCheck.nat(39), { minLength: 1, maxLength: 4 })
})

const drvPath = (i: number) => fakePath(i, "x.drv")
const outPath = (i: number) => fakePath(i, "x")

describe("computeClosureYielding", () => {
  it.scoped.prop(
    "equals computeClosure for every direction and flag",
    [storeArb],
    ([s]) =>
      Effect.gen(function*() {
        const db = yield* openStoreDb({ layout: yield* tempLayout })
        // Even nodes are derivations (x.drv), odd ones outputs (x); some outputs named are not valid.
        const pathOf = (i: number) => (i % 2 === 0 ? drvPath(i) : outPath(i))
        const n = s.size
        const regs: Array<PathRegistration> = Array.from({ length: n }, (_, i) => {
          const outs = s.outputs.filter(([d]) => d === i && i % 2 === 0)
          const deriver = s.derivers.find(([p]) => p === i)
          return {
            path: pathOf(i),
            narHash: fakeHash(i),
            narSize: 1,
            references: [...new Set(s.refs.filter(([a, b]) => a === i && b < i && b < n).map(([, b]) => pathOf(b)))],
            ...(deriver === undefined ? {} : { deriver: drvPath(deriver[1] - (deriver[1] % 2)) }),
            ...(outs.length === 0
              ? {}
              : { derivationOutputs: Object.fromEntries(outs.map(([, o], k) => [`out${k}`, outPath(o | 1)])) })
          }
        })
        yield* db.registerValidPaths(regs)
        const roots = [...new Set(s.roots.filter((r) => r < n).map(pathOf))]
        if (roots.length === 0) return
        for (const direction of ["references", "referrers"] as const) {
          for (const includeOutputs of [false, true]) {
            for (const includeDerivers of [false, true]) {
              const options = { direction, includeOutputs, includeDerivers }
              expect(yield* db.computeClosureYielding(roots, options), JSON.stringify(options))
                .toEqual(yield* db.computeClosure(roots, options))
            }
          }
        }
        const missing = fakePath(1000, "missing")
        const err = yield* Effect.flip(db.computeClosureYielding([...roots, missing]))
        expect(err).toMatchObject({ _tag: "PathNotValidError", path: missing })
      }),
    { fastCheck: { numRuns: 40 } }
  )

  it.scoped("gives the event loop turns on a 20 000-long chain", () =>
    Effect.gen(function*() {
      const db = yield* openStoreDb({ layout: yield* tempLayout })
      const n = 20000
      const regs: Array<PathRegistration> = Array.from({ length: n }, (_, i) => ({
        path: fakePath(i),
        narHash: fakeHash(i),
        narSize: 1,
        references: i === 0 ? [] : [fakePath(i - 1)]
      }))
      yield* db.registerValidPaths(regs)
      // Count timer callbacks while the closure is computed: without turns there would be none.
      let ticks = 0
      const timer = setInterval(() => ticks++, 1)
      const closure = yield* db.computeClosureYielding([fakePath(n - 1)]).pipe(
        Effect.ensuring(Effect.sync(() => clearInterval(timer)))
      )
      expect(closure.length).toBe(n)
      expect(ticks).toBeGreaterThan(0)
    }), 60000)
})
