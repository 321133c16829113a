import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { nixVanishedOrder } from "../../../../src/stores/local/ops/verifyOrder.js"

const name = (i: number) => `/nix/store/p${String(i).padStart(2, "0")}`

/** Nix 2.8's verifyPath, written recursively as in local-store.cc, reporting vanished paths. */
const reference = (
  valid: ReadonlyArray<string>,
  vanished: ReadonlySet<string>,
  referrersOf: (p: string) => ReadonlyArray<string>
) => {
  const done = new Set<string>()
  const out: Array<string> = []
  const visit = (p: string) => {
    if (done.has(p)) return
    done.add(p)
    if (!vanished.has(p)) return
    for (const r of [...referrersOf(p)].sort()) if (r !== p) visit(r)
    out.push(p)
  }
  for (const p of [...valid].sort()) visit(p)
  return out
}

describe("--verify's order of vanished paths", () => {
  it("follows Nix 2.8 on the golden store (golden/cli verify-order)", () => {
    const [tree, rsha1, top, mid, leaf, depout] = [
      "8izg-tree",
      "8k6v-tree",
      "9z70-top.txt",
      "qg0x-mid.txt",
      "j75x-leaf.txt",
      "yzv1-dep"
    ]
      .map((s) => `/nix/store/${s}`) as [string, string, string, string, string, string]
    const refs: Record<string, Array<string>> = { [top]: [mid, leaf], [mid]: [leaf] }
    expect(nixVanishedOrder([leaf, mid, tree, rsha1, top, depout], (p) => refs[p] ?? []))
      .toEqual([tree, rsha1, top, mid, leaf, depout])
  })

  it.prop(
    "equals Nix's recursive walk over all valid paths",
    [
      FastCheck.integer({ min: 1, max: 14 }).chain((n) =>
        FastCheck.tuple(
          FastCheck.constant(n),
          FastCheck.array(FastCheck.tuple(FastCheck.nat(n - 1), FastCheck.nat(n - 1)), { maxLength: n * 3 }),
          FastCheck.array(FastCheck.boolean(), { minLength: n, maxLength: n })
        )
      )
    ],
    ([[n, edges, gone]]) => {
      const valid = Array.from({ length: n }, (_, i) => name(i))
      const refs = new Map<string, Set<string>>()
      for (const [a, b] of edges) {
        if (a > b) (refs.get(name(a)) ?? refs.set(name(a), new Set()).get(name(a))!).add(name(b))
      }
      const referrersOf = (p: string) => valid.filter((q) => refs.get(q)?.has(p))
      const vanished = new Set(valid.filter((_, i) => gone[i]))
      expect(nixVanishedOrder([...vanished].reverse(), (p) => [...(refs.get(p) ?? [])]))
        .toEqual(reference(valid, vanished, referrersOf))
    }
  )
})
