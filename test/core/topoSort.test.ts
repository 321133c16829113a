import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import { topoSort, topoSortPathsBreakingCycles } from "../../src/core/topoSort.js"

const sortWith = (graph: Record<string, Array<string>>) =>
  Either.getOrThrow(topoSort(Object.keys(graph), (p) => graph[p] ?? []))

describe("topoSort (Nix's topoSortPaths)", () => {
  it("puts referrers before references, ties broken by Nix's DFS order", () => {
    // a → b → c, a → c, d alone, e → a
    const g = { a: ["c", "b"], b: ["c"], c: [], d: [], e: ["a"] }
    // Nix: DFS from a (b, c), then d, then e; post-order c b a d e; reversed.
    expect(sortWith(g)).toEqual(["e", "d", "a", "b", "c"])
  })

  it("ignores self references and children outside the set", () => {
    expect(sortWith({ a: ["a", "zz"], b: ["a"] })).toEqual(["b", "a"])
  })

  it("reports a cycle", () => {
    expect(Either.isLeft(topoSort(["a", "b"], (p) => (p === "a" ? ["b"] : ["a"])))).toBe(true)
  })

  it.prop("every edge of a random DAG goes forward", [
    FastCheck.array(FastCheck.tuple(FastCheck.nat(30), FastCheck.nat(30)), { maxLength: 120 })
  ], ([edges]) => {
    const g: Record<string, Array<string>> = {}
    const name = (i: number) => `p${String(i).padStart(2, "0")}`
    for (let i = 0; i <= 30; i++) g[name(i)] = []
    for (const [x, y] of edges) if (x < y) g[name(y)]!.push(name(x)) // refs point to smaller ids: acyclic
    const order = sortWith(g)
    const pos = new Map(order.map((p, i) => [p, i]))
    expect(order.length).toBe(31)
    for (const [from, tos] of Object.entries(g)) for (const to of tos) expect(pos.get(from)! < pos.get(to)!).toBe(true)
  })

  it("handles a 100k-long chain without recursion", () => {
    const n = 100_000
    const name = (i: number) => `p${String(i).padStart(6, "0")}`
    const order = Either.getOrThrow(topoSort(Array.from({ length: n }, (_, i) => name(i)), (p) => {
      const i = Number(p.slice(1))
      return i > 0 ? [name(i - 1)] : []
    }))
    expect(order[0]).toBe(name(n - 1))
    expect(order[n - 1]).toBe(name(0))
  })
})

describe("cycles", () => {
  it("names the pair as Nix 2.8 does: the reference on the stack, from the path being visited", () => {
    const r = topoSort(["a", "b"], (p) => (p === "a" ? ["b"] : ["a"]))
    expect(Either.isLeft(r) && r.left.message).toBe("cycle detected in the references of 'a' from 'b'")
  })

  it("topoSortPathsBreakingCycles orders a cyclic set, every edge but the closing one forward", () => {
    // c → a → b → a (cycle a/b), d alone.
    const g: Record<string, Array<string>> = { a: ["b"], b: ["a"], c: ["a"], d: [] }
    const order = topoSortPathsBreakingCycles(Object.keys(g), (p) => g[p] ?? [])
    expect([...order].sort()).toEqual(["a", "b", "c", "d"])
    const pos = new Map(order.map((p, i) => [p, i]))
    expect(pos.get("c")! < pos.get("a")!).toBe(true)
    expect(pos.get("a")! < pos.get("b")!).toBe(true)
  })

  it("topoSortPathsBreakingCycles gives Nix's order on a DAG", () => {
    const g: Record<string, Array<string>> = { a: ["c", "b"], b: ["c"], c: [], d: [], e: ["a"] }
    expect(topoSortPathsBreakingCycles(Object.keys(g), (p) => g[p] ?? [])).toEqual(["e", "d", "a", "b", "c"])
  })
})
