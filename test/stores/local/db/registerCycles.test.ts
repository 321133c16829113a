/**
 * registerValidPaths (src/stores/local/db/register.ts) refuses reference cycles:
 * among the batch (Nix's check, Nix's pair named), and through valid paths when
 * a re-registered path gains a reference. Nothing is registered then.
 * Self-references are fine, and a cycle already in the database (an older
 * tsnix) does not block registrations that add no edge to it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import type { PathRegistration } from "../../../../src/services/StoreDb.js"
import { fakeHash, fakePath, openStoreDb, rawDb, tempLayout } from "./helpers.js"

const reg = (n: number, refs: ReadonlyArray<number> = []): PathRegistration => ({
  path: fakePath(n),
  narHash: fakeHash(n),
  narSize: 100 + n,
  references: refs.map((r) => fakePath(r))
})

const open = Effect.flatMap(tempLayout, (layout) => Effect.map(openStoreDb({ layout }), (db) => ({ db, layout })))

/** Whether the graph (self-loops ignored) has a cycle: Kahn's algorithm. */
const hasCycle = (n: number, edges: ReadonlyArray<readonly [number, number]>): boolean => {
  const indeg = new Array<number>(n).fill(0)
  const out = Array.from({ length: n }, () => [] as Array<number>)
  const uniq = [...new Set(edges.filter(([a, b]) => a !== b).map(([a, b]) => `${a} ${b}`))].map((s) =>
    s.split(" ").map(Number) as [number, number]
  )
  for (const [a, b] of uniq) {
    out[a]!.push(b)
    indeg[b]!++
  }
  const queue = indeg.flatMap((d, i) => (d === 0 ? [i] : []))
  let seen = 0
  while (queue.length > 0) {
    const x = queue.pop()!
    seen++
    for (const y of out[x]!) if (--indeg[y]! === 0) queue.push(y)
  }
  return seen !== n
}

describe("registerValidPaths and reference cycles", () => {
  it.scoped("a two-path cycle is refused with Nix's pair, nothing registered; a self-reference is fine", () =>
    Effect.gen(function*() {
      const { db } = yield* open
      const err = yield* Effect.flip(db.registerValidPaths([reg(1, [2]), reg(2, [1, 2]), reg(3)]))
      expect(err._tag).toBe("ReferenceCycleError")
      // Nix: depth-first from the first path in order (1), into 2, whose reference 1 is on the stack.
      expect(err.message).toBe(`cycle detected in the references of '${fakePath(1)}' from '${fakePath(2)}'`)
      expect(yield* db.queryAllValidPaths).toEqual([])
      yield* db.registerValidPaths([reg(1, [1])])
      expect(yield* db.queryAllValidPaths).toEqual([fakePath(1)])
    }))

  it.scoped("a re-registration closing a cycle through valid paths is refused, nothing changed", () =>
    Effect.gen(function*() {
      const { db } = yield* open
      yield* db.registerValidPaths([reg(1, [2]), reg(2, [3]), reg(3)])
      const err = yield* Effect.flip(db.registerValidPaths([reg(3, [1]), reg(4)]))
      expect(err._tag).toBe("ReferenceCycleError")
      expect(yield* db.queryAllValidPaths).toEqual([1, 2, 3].map((n) => fakePath(n)).sort())
      expect(yield* db.queryReferences(fakePath(3))).toEqual([])
      // Same references again, or one more that closes nothing: fine.
      yield* db.registerValidPaths([reg(3), reg(2, [3]), reg(4)])
      yield* db.registerValidPaths([reg(3, [4])])
      expect(yield* db.queryReferences(fakePath(3))).toEqual([fakePath(4)])
    }))

  it.scoped("a cycle already in the database does not block registrations that add no edge to it", () =>
    Effect.gen(function*() {
      const { db, layout } = yield* open
      yield* db.registerValidPaths([reg(1, [2]), reg(2)])
      const raw = rawDb(`${layout.dbDir}/db.sqlite`)
      raw.prepare(
        "insert into Refs (referrer, reference) select x.id, y.id from ValidPaths x, ValidPaths y where x.path = ? and y.path = ?"
      ).run(fakePath(2), fakePath(1))
      raw.close()
      yield* db.registerValidPaths([reg(2, [1]), reg(5, [1])])
      expect(yield* db.queryAllValidPaths).toEqual([1, 2, 5].map((n) => fakePath(n)).sort())
    }))

  it.scoped.prop(
    "a random batch registers exactly when its references are acyclic",
    [FastCheck.array(FastCheck.tuple(FastCheck.nat(7), FastCheck.nat(7)), { maxLength: 14 })],
    ([edges]) =>
      Effect.gen(function*() {
        const { db } = yield* open
        const batch = Array.from(
          { length: 8 },
          (_, i) => reg(i + 1, edges.filter(([a]) => a === i).map(([, b]) => b + 1))
        )
        const r = yield* Effect.either(db.registerValidPaths(batch))
        const cyclic = hasCycle(8, edges)
        expect(r._tag === "Left").toBe(cyclic)
        if (r._tag === "Left") expect(r.left._tag).toBe("ReferenceCycleError")
        expect((yield* db.queryAllValidPaths).length).toBe(cyclic ? 0 : 8)
      }),
    { fastCheck: { numRuns: 40 } }
  )

  it.scoped.prop(
    "hasReferenceCycle says whether the references in the database hold a cycle (self-references aside)",
    [FastCheck.array(FastCheck.tuple(FastCheck.nat(7), FastCheck.nat(7)), { maxLength: 14 })],
    ([edges]) =>
      Effect.gen(function*() {
        const { db, layout } = yield* open
        yield* db.registerValidPaths(Array.from({ length: 8 }, (_, i) => reg(i + 1)))
        // Written by hand, as an older tsnix could have: registration refuses cycles.
        const raw = rawDb(`${layout.dbDir}/db.sqlite`)
        const insert = raw.prepare(
          "insert or ignore into Refs (referrer, reference) select x.id, y.id from ValidPaths x, ValidPaths y where x.path = ? and y.path = ?"
        )
        for (const [a, b] of edges) insert.run(fakePath(a + 1), fakePath(b + 1))
        raw.close()
        expect(yield* db.hasReferenceCycle).toBe(hasCycle(8, edges))
      }),
    { fastCheck: { numRuns: 40 } }
  )
})
