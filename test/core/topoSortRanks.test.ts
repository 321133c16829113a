import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { topoSortPaths } from "../../src/core/topoSort.js"
import { fakePath } from "../stores/local/db/helpers.js"

describe("topoSortPaths", () => {
  it("puts referrers first, ties in path order, ignoring self and outside references", () => {
    const refs: Record<string, ReadonlyArray<string>> = {
      c: ["a", "b", "c"],
      b: ["a", "z"],
      a: [],
      d: []
    }
    expect(Either.getOrThrow(topoSortPaths(["a", "b", "c", "d"], (p) => refs[p] ?? []))).toEqual(["d", "c", "b", "a"])
  })

  it("reports a cycle", () => {
    const refs: Record<string, ReadonlyArray<string>> = { a: ["b"], b: ["a"] }
    const r = topoSortPaths(["a", "b"], (p) => refs[p] ?? [])
    expect(Either.isLeft(r) && r.left._tag).toBe("ReferenceCycleError")
  })

  it("handles a 100 000-long chain without recursion", () => {
    const n = 100_000
    const paths = Array.from({ length: n }, (_, i) => fakePath(i))
    const index = new Map(paths.map((p, i) => [p, i] as const))
    const r = Either.getOrThrow(topoSortPaths(paths, (p) => {
      const i = index.get(p)!
      return i > 0 ? [paths[i - 1]!] : []
    }))
    expect(r[0]).toBe(paths[n - 1])
    expect(r[n - 1]).toBe(paths[0])
  })
})
