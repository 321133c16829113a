import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { topoSortPaths } from "../../../../src/core/topoSort.js"
import type { PathRegistration } from "../../../../src/services/StoreDb.js"
import { fakeHash, fakePath, openStoreDb, rawDb, tempLayout } from "./helpers.js"

// A random DAG big enough (≥ 1000 paths, most of the store) for the whole-table
// code paths of computeClosure / topoSortPaths, checked against the pure sort.
const n = 3000
const refsOf: Array<Array<number>> = []
let seed = 7
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}
for (let i = 0; i < n; i++) {
  const refs = new Set<number>()
  if (i > 1 && rand() < 0.9) refs.add(i - 2)
  if (i > 0) { for (let k = Math.floor(rand() * 4); k > 0; k--) refs.add(Math.floor(rand() * i)) }
  if (i % 7 === 0) refs.add(i) // self-references are ignored by the sort
  refsOf.push([...refs])
}
// Registered in a scrambled order, so path ids do not follow path order.
const regs: Array<PathRegistration> = refsOf
  .map((refs, i) => ({
    path: fakePath(i * 7919 % 100003),
    narHash: fakeHash(i),
    narSize: 1,
    references: refs.map((r) => fakePath(r * 7919 % 100003))
  }))
  .reverse()
const refMap = new Map(regs.map((r) => [r.path, r.references]))
const pathOf = (i: number) => fakePath(i * 7919 % 100003)

const closureOf = (roots: ReadonlyArray<string>, next: (p: string) => ReadonlyArray<string>) => {
  const seen = new Set(roots)
  const todo = [...roots]
  while (todo.length > 0) {
    for (const q of next(todo.pop()!)) {
      if (!seen.has(q)) {
        seen.add(q)
        todo.push(q)
      }
    }
  }
  return [...seen].sort()
}

describe("StoreDb closures over most of the store", () => {
  it.scoped("computeClosure and topoSortPaths agree with the pure versions", () =>
    Effect.gen(function*() {
      const db = yield* openStoreDb({ layout: yield* tempLayout })
      yield* db.registerValidPaths(regs)
      const roots = [pathOf(n - 1), pathOf(n - 2), pathOf(n - 3)]
      const closure = yield* db.computeClosure(roots)
      expect(closure.length).toBeGreaterThan(1000)
      expect(closure).toEqual(closureOf(roots, (p) => refMap.get(p) ?? []))
      const referrers = new Map<string, Array<string>>()
      for (const r of regs) for (const x of r.references) referrers.set(x, [...(referrers.get(x) ?? []), r.path])
      expect(yield* db.computeClosure([pathOf(0)], { direction: "referrers" }))
        .toEqual(closureOf([pathOf(0)], (p) => referrers.get(p) ?? []))
      const expected = Either.getOrThrow(topoSortPaths(closure, (p) => refMap.get(p) ?? []))
      expect(yield* db.topoSortPaths(closure)).toEqual(expected)
      // Every path (the whole-table case exactly).
      const all = regs.map((r) => r.path)
      expect(yield* db.topoSortPaths(all)).toEqual(Either.getOrThrow(topoSortPaths(all, (p) => refMap.get(p) ?? [])))
      // An unknown path among many is reported.
      const bad = fakePath(100004, "missing")
      const err = yield* Effect.flip(db.topoSortPaths([...all, bad]))
      expect(err._tag).toBe("PathNotValidError")
      if (err._tag === "PathNotValidError") expect(err.path).toBe(bad)
    }))

  it.scoped("a cycle among many paths is reported by topoSortPaths", () =>
    Effect.gen(function*() {
      const layout = yield* tempLayout
      const db = yield* openStoreDb({ layout })
      // 0..1999 a chain; 2000 <-> 2001 refer to each other (a cycle cannot be registered any more:
      // inserted behind tsnix's back, as an older tsnix could have left it).
      const chain: Array<PathRegistration> = Array.from({ length: 2000 }, (_, i) => ({
        path: fakePath(i),
        narHash: fakeHash(i),
        narSize: 1,
        references: i > 0 ? [fakePath(i - 1)] : []
      }))
      yield* db.registerValidPaths([
        ...chain,
        { path: fakePath(2000), narHash: fakeHash(2000), narSize: 1, references: [] },
        { path: fakePath(2001), narHash: fakeHash(2001), narSize: 1, references: [] }
      ])
      const raw = rawDb(`${layout.dbDir}/db.sqlite`)
      raw.prepare(
        `insert into Refs (referrer, reference) select x.id, y.id from ValidPaths x, ValidPaths y
           where (x.path = ? and y.path = ?) or (x.path = ? and y.path = ?)`
      ).run(fakePath(2000), fakePath(2001), fakePath(2001), fakePath(2000))
      raw.close()
      const err = yield* Effect.flip(db.topoSortPaths([...chain.map((c) => c.path), fakePath(2000), fakePath(2001)]))
      expect(err._tag).toBe("ReferenceCycleError")
      const sorted = yield* db.topoSortPaths(chain.map((c) => c.path))
      expect(sorted).toEqual(chain.map((c) => c.path).reverse())
    }))
})
