/**
 * printfFixed2 against C's printf("%.2f") (golden/optimise/nix/printf.txt, written by awk's
 * printf of the same doubles), and its rounding rule on random values.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { printfFixed2 } from "../../src/core/printf.js"
import { nixOut } from "../stores/local/ops/optimiseGolden.js"

describe("printfFixed2", () => {
  it("formats byte counts in MiB as C's printf does, ties to even and signed zero included", () => {
    const lines = nixOut("printf.txt").trim().split("\n")
    expect(lines.length).toBeGreaterThan(100)
    for (const l of lines) {
      const [n, want] = l.split(" ")
      expect(printfFixed2(Number(n) / 1048576), l).toBe(want)
    }
  })

  it.effect.prop(
    "on byte counts in MiB: away from ties it is toFixed(2) (exact too), on a tie the last digit is even",
    [fc.oneof(
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.integer({ min: -5000, max: 5000 }).map((k) => k * 2 ** 17)
    )],
    ([n]) =>
      Effect.sync(() => {
        const x = n / 1048576
        const s = printfFixed2(x)
        // n·100 / 2^20 has fraction exactly ½ iff n·100 ≡ 2^19 (mod 2^20).
        const r = ((BigInt(n) * 100n) % 1048576n + 1048576n) % 1048576n
        if (r === 524288n) {
          expect(Number(s.slice(-1)) % 2, s).toBe(0)
          expect(Math.abs(Number(s) - x)).toBeCloseTo(0.005, 10)
        } else {
          expect(s).toBe(x.toFixed(2) === "0.00" && n < 0 ? "-0.00" : x.toFixed(2))
        }
      }),
    { fastCheck: { numRuns: 500 } }
  )
})
