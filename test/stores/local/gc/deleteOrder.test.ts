import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { nixDeleteOrder } from "../../../../src/stores/local/gc/deleteOrder.js"

/** A random acyclic reference graph over p00..pNN (a path refers only to lower-numbered ones). */
const dagArb = FastCheck.integer({ min: 1, max: 14 }).chain((n) =>
  FastCheck.tuple(
    FastCheck.constant(n),
    FastCheck.array(FastCheck.tuple(FastCheck.nat(n - 1), FastCheck.nat(n - 1)), { maxLength: n * 3 }),
    FastCheck.shuffledSubarray(Array.from({ length: n }, (_, i) => i))
  )
)

const name = (i: number) => `/nix/store/p${String(i).padStart(2, "0")}`

describe("nix-store --delete's order", () => {
  it("follows Nix 2.8 on the golden store (golden/cli delete-order)", () => {
    const [out, drv, hello, user, fod] = [
      "x4gp-app",
      "9rw6-app.drv",
      "i9pm-hello.txt",
      "vm3a-user.drv",
      "yr82-fod.txt.drv"
    ]
      .map((s) => `/nix/store/${s}`) as [string, string, string, string, string]
    const refs: Record<string, Array<string>> = { [out]: [hello], [user]: [fod] }
    // keep-derivations: app.drv leads to its output.
    const order = nixDeleteOrder([drv, out, hello, user, fod], {
      referencesOf: (p) => refs[p] ?? [],
      extraOf: (p) => (p === drv ? [out] : [])
    })
    expect(order).toEqual([out, drv, hello, user, fod])
  })

  it.prop(
    "a permutation with referrers before their references, grouped by the sorted starts",
    [dagArb],
    ([[n, edges, order]]) => {
      const refs = new Map<string, Set<string>>()
      for (const [a, b] of edges) {
        if (a > b) {
          ;(refs.get(name(a)) ?? refs.set(name(a), new Set()).get(name(a))!).add(name(b))
        }
      }
      const paths = order.map(name)
      const result = nixDeleteOrder(paths, { referencesOf: (p) => [...(refs.get(p) ?? [])] })
      expect([...result].sort()).toEqual([...paths].sort())
      const at = new Map(result.map((p, i) => [p, i]))
      for (const [p, rs] of refs) {
        for (const r of rs) if (at.has(p) && at.has(r)) expect(at.get(p)!).toBeLessThan(at.get(r)!)
      }
      // The first path deleted belongs to the group of the smallest path: it is that path or one of its referrers.
      const smallest = [...paths].sort()[0]!
      const up = new Set([smallest])
      for (let changed = true; changed;) {
        changed = false
        for (const [p, rs] of refs) {
          if (at.has(p) && !up.has(p) && [...rs].some((r) => up.has(r))) {
            up.add(p)
            changed = true
          }
        }
      }
      expect(up.has(result[0]!)).toBe(true)
      expect(n).toBeGreaterThan(0)
    }
  )
})
