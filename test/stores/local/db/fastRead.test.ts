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

// queryPathInfoNow (the daemon's synchronous QueryPathInfo): the same answer as queryPathInfo when it
// answers, and no answer (undefined) while a transaction holds the connection.
describe("StoreDb.queryPathInfoNow", () => {
  it.live("answers as queryPathInfo (valid, invalid, with references, deriver, sigs, ca)", () =>
    Effect.scoped(Effect.gen(function*() {
      const db = yield* openStoreDb({ layout: yield* tempLayout })
      const now = db.queryPathInfoNow
      if (now === undefined) return expect.unreachable("the local StoreDb has queryPathInfoNow")
      const paths = Array.from({ length: 6 }, (_, i) => fakePath(i + 1))
      yield* db.registerValidPaths(paths.map((p, i) => ({
        path: p,
        narHash: fakeHash(i + 1),
        narSize: 100 + i,
        references: paths.slice(0, i).filter((_, k) => (i + k) % 2 === 0).concat(i === 3 ? [p] : []),
        ...(i === 2 ? { deriver: fakePath(50) } : {}),
        ...(i === 4 ? { sigs: ["k:c2ln", "a:c2ln"] } : {}),
        ...(i === 5 ? { ca: `fixed:r:sha256:${"0".repeat(52)}` } : {})
      })))
      for (const p of [...paths, fakePath(99)]) {
        expect(now(p)).toEqual(yield* db.queryPathInfo(p))
      }
      expect(now(fakePath(99))).toEqual(Option.none())
    })))

  it.live("gives no answer while another fiber's transaction holds the connection", () =>
    Effect.scoped(Effect.gen(function*() {
      const db = yield* openStoreDb({ layout: yield* tempLayout })
      const p = fakePath(1)
      yield* db.registerValidPaths([{ path: p, narHash: fakeHash(1), narSize: 1, references: [] }])
      const inside = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const writer = yield* Effect.fork(
        db.writeTransaction("test", Effect.zipRight(Deferred.succeed(inside, undefined), Deferred.await(release)))
      )
      yield* Deferred.await(inside)
      expect(db.queryPathInfoNow?.(p)).toBeUndefined()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(writer)
      expect(Option.isSome(db.queryPathInfoNow?.(p) ?? Option.none())).toBe(true)
    })))
})
