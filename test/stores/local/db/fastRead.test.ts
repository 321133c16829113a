import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option } from "effect"
import { printHashWithAlgo } from "../../../../src/core/hash.js"
import { fakeHash, fakePath, openStoreDb, tempLayout } from "./helpers.js"

// Single reads skip the client's per-statement machinery while no transaction
// holds the connection; during another fiber's transaction they must wait for it
// (and never see its uncommitted rows).
describe("StoreDb single reads and open transactions", () => {
  it.live("a read during another fiber's write transaction does not see its uncommitted rows", () =>
    Effect.scoped(Effect.gen(function*() {
      const db = yield* openStoreDb({ layout: yield* tempLayout })
      const p = fakePath(1)
      const inside = yield* Deferred.make<void>()
      const writer = yield* Effect.fork(
        db.writeTransaction(
          "test",
          Effect.gen(function*() {
            yield* db.registerValidPaths([{ path: p, narHash: fakeHash(1), narSize: 1, references: [] }])
            yield* Deferred.succeed(inside, undefined)
            yield* Effect.sleep("100 millis")
            return yield* Effect.fail("abort" as const)
          })
        )
      )
      yield* Deferred.await(inside)
      const [valid, info] = yield* Effect.all([db.isValidPath(p), db.queryPathInfo(p)], { concurrency: 2 })
      expect(valid).toBe(false)
      expect(info).toEqual(Option.none())
      expect(yield* Fiber.join(writer).pipe(Effect.flip)).toBe("abort")
      // After the rollback, and after a committed write, the fast path answers.
      expect(yield* db.isValidPath(p)).toBe(false)
      yield* db.registerValidPaths([{ path: p, narHash: fakeHash(1), narSize: 1, references: [] }])
      expect(yield* db.isValidPath(p)).toBe(true)
      expect(Option.map(yield* db.queryPathInfo(p), (i) => printHashWithAlgo(i.narHash, "base16"))).toEqual(
        Option.some(fakeHash(1))
      )
    })))
})
