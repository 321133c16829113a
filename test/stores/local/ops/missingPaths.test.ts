import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { missingPaths } from "../../../../src/stores/local/ops/missingPaths.js"

const prefix = "/nix/store/"
// Names as a store directory may hold them: store path names, but also junk (other cases, dots,
// characters outside ASCII and outside the BMP), so that sort orders are put to the test.
const arbName = fc.string({
  unit: fc.constantFrom("a", "b", "B", "0", "-", ".", "_", "é", "Ω", "😀", "\uff21", "z"),
  minLength: 1,
  maxLength: 6
})

/** The obvious way: a Set of the names. */
const expected = (paths: ReadonlyArray<string>, names: ReadonlyArray<string>) => {
  const present = new Set(names)
  return paths.filter((p) => !present.has(p.slice(prefix.length)))
}

describe("missingPaths", () => {
  it.effect.prop(
    "agrees with a Set look-up, whatever the names and whether the paths come sorted",
    [
      fc.uniqueArray(arbName, { maxLength: 60 }),
      fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
      fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
      fc.array(arbName, { maxLength: 10 }),
      fc.boolean()
    ],
    ([all, valid, present, junk, sorted]) =>
      Effect.sync(() => {
        const paths = all.filter((_, i) => valid[i]).map((n) => prefix + n)
        if (sorted) paths.sort()
        const names = [...new Set([...all.filter((_, i) => present[i]), ...junk])]
        const want = expected(paths, names)
        expect(missingPaths(paths, prefix.length, [...names])).toEqual(want)
      })
  )

  it.effect("100k paths, half of them gone", () =>
    Effect.sync(() => {
      const all = Array.from({ length: 100_000 }, (_, i) => `${i.toString(36).padStart(8, "0")}-pkg-${i}`)
      const paths = all.map((n) => prefix + n).sort()
      const names = all.filter((_, i) => i % 2 === 0).reverse()
      const missing = missingPaths(paths, prefix.length, names)
      expect(missing).toHaveLength(50_000)
      expect(missing).toEqual(expected(paths, all.filter((_, i) => i % 2 === 0)))
    }))
})
