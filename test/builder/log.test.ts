/** Build logs' bzip2: the short-log shortcut gives exactly the level-9 stream, and round-trips. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import Bzip2 from "compressjs/lib/Bzip2.js"
import { bunzip2, bzip2 } from "../../src/builder/log.js"

const level9 = (data: Uint8Array) => Uint8Array.from(Bzip2.compressFile(data, null, 9))

describe("build log compression", () => {
  it.effect.prop(
    "bzip2 of a log is the level-9 stream, and bunzip2 gives the log back",
    [
      fc.oneof(
        fc.uint8Array({ maxLength: 3000 }),
        // Runs (bzip2's first stage rewrites runs of 4 or more bytes) and text.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 300 })), { maxLength: 60 }).map((
          runs
        ) => Uint8Array.from(runs.flatMap(([b, n]) => Array<number>(n).fill(b)))),
        fc.string({ maxLength: 2000 }).map((s) => new TextEncoder().encode(s))
      )
    ],
    ([data]) =>
      Effect.sync(() => {
        const z = bzip2(data)
        expect(Buffer.from(z).equals(Buffer.from(level9(data)))).toBe(true)
        expect(Buffer.from(bunzip2(z)).equals(Buffer.from(data))).toBe(true)
      }),
    { fastCheck: { numRuns: 60 } }
  )

  it("a log at the shortcut's limit, and one past it, are level-9 streams too", () => {
    let x = 1
    for (const n of [48 * 1024, 48 * 1024 + 1, 200_000]) {
      // Compressible but not trivial: random letters with runs.
      const data = Uint8Array.from({ length: n }, () => 97 + ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 29))
      expect(Buffer.from(bzip2(data)).equals(Buffer.from(level9(data)))).toBe(true)
    }
  })
})
