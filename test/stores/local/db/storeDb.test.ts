import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { render as renderCa } from "../../../../src/core/contentAddress.js"
import { printHashWithAlgo } from "../../../../src/core/hash.js"
import type { PathRegistration } from "../../../../src/services/StoreDb.js"
import { fakeHash, fakePath, openStoreDb, tempLayout } from "./helpers.js"

const reg = (n: number, refs: ReadonlyArray<number> = [], extra: Partial<PathRegistration> = {}): PathRegistration => ({
  path: fakePath(n),
  narHash: fakeHash(n),
  narSize: 100 + n,
  references: refs.map((r) => fakePath(r)),
  ...extra
})

const open = Effect.flatMap(tempLayout, (layout) => openStoreDb({ layout }))

describe("StoreDb", () => {
  it.scoped("registers a batch in any order and answers path info", () =>
    Effect.gen(function*() {
      const db = yield* open
      // 3 -> 2 -> 1, given referrer first; 2 also refers to itself.
      yield* db.registerValidPaths([
        reg(3, [2, 1], {
          deriver: fakePath(9, "x.drv"),
          sigs: ["k:s1", "k:s2"],
          ultimate: true,
          ca: `text:sha256:${"0".repeat(52)}`,
          registrationTime: 1234
        }),
        reg(2, [1, 2]),
        reg(1)
      ])
      const info = Option.getOrThrow(yield* db.queryPathInfo(fakePath(3)))
      expect({ ...info, narHash: printHashWithAlgo(info.narHash, "base16"), ca: Option.map(info.ca, renderCa) })
        .toEqual({
          path: fakePath(3),
          narHash: fakeHash(3),
          narSize: 103,
          deriver: Option.some(fakePath(9, "x.drv")),
          references: [fakePath(1), fakePath(2)].sort(),
          registrationTime: 1234,
          ultimate: true,
          sigs: ["k:s1", "k:s2"],
          ca: Option.some(`text:sha256:${"0".repeat(52)}`)
        })
      expect(yield* db.queryPathInfo(fakePath(4))).toEqual(Option.none())
      expect(yield* db.queryReferrers(fakePath(2))).toEqual([fakePath(2), fakePath(3)].sort())
      expect(yield* db.queryReferences(fakePath(2))).toEqual([fakePath(1), fakePath(2)].sort())
      expect((yield* Effect.flip(db.queryReferences(fakePath(4))))._tag).toBe("PathNotValidError")
      expect(yield* db.computeClosure([fakePath(3)])).toEqual([1, 2, 3].map((n) => fakePath(n)).sort())
      expect(yield* db.computeClosure([fakePath(1)], { direction: "referrers" })).toEqual(
        [1, 2, 3].map((n) => fakePath(n)).sort()
      )
      expect((yield* Effect.flip(db.computeClosure([fakePath(7)])))._tag).toBe("PathNotValidError")
    }))

  it.scoped("a dangling reference registers nothing and names the reference", () =>
    Effect.gen(function*() {
      const db = yield* open
      const err = yield* Effect.flip(db.registerValidPaths([reg(1), reg(2, [1, 5])]))
      expect(err._tag).toBe("DanglingReferenceError")
      if (err._tag === "DanglingReferenceError") {
        expect(err.reference).toBe(fakePath(5))
        expect(err.path).toBe(fakePath(2))
      }
      expect(yield* db.queryAllValidPaths).toEqual([])
    }))

  it.scoped("re-registering keeps the row and updates hash, size, sigs, ca", () =>
    Effect.gen(function*() {
      const db = yield* open
      yield* db.registerValidPaths([reg(1), reg(2, [1])])
      yield* db.registerValidPaths([{
        ...reg(1),
        narHash: fakeHash(77),
        narSize: 5,
        sigs: ["a:b"],
        ca: `fixed:r:sha256:${"0".repeat(52)}`
      }])
      const info = Option.getOrThrow(yield* db.queryPathInfo(fakePath(1)))
      // The row mapper gives typed values: a Hash and a ContentAddress.
      expect([printHashWithAlgo(info.narHash, "base16"), info.narSize, info.sigs, Option.map(info.ca, renderCa)])
        .toEqual([
          fakeHash(77),
          5,
          ["a:b"],
          Option.some(`fixed:r:sha256:${"0".repeat(52)}`)
        ])
      // The row kept its id: the reference from 2 still points at it.
      expect(yield* db.queryReferrers(fakePath(1))).toEqual([fakePath(2)])
    }))

  it.scoped("a row that does not make a typed info is a StoreDbError naming the column", () =>
    Effect.gen(function*() {
      const db = yield* open
      yield* db.registerValidPaths([{ ...reg(1), ca: "fixed:r:sha256:x" }, reg(2)])
      const one = yield* Effect.flip(db.queryPathInfo(fakePath(1)))
      expect(one._tag).toBe("StoreDbError")
      expect(one.message).toContain(`invalid path info of '${fakePath(1)}': ca:`)
      const many = yield* Effect.flip(db.queryPathInfos())
      expect(many._tag).toBe("StoreDbError")
      // The good row still reads.
      expect(Option.isSome(yield* db.queryPathInfo(fakePath(2)))).toBe(true)
    }))

  it.scoped("invalidation refuses while referred to (self-references excepted)", () =>
    Effect.gen(function*() {
      const db = yield* open
      yield* db.registerValidPaths([reg(1, [1]), reg(2, [1, 2]), reg(3, [2]), reg(4)])
      const err = yield* Effect.flip(db.invalidatePath(fakePath(1)))
      expect(err._tag).toBe("PathInUseError")
      if (err._tag === "PathInUseError") expect(err.referrers).toEqual([fakePath(2)])
      yield* db.invalidatePath(fakePath(4))
      yield* db.invalidatePath(fakePath(4)) // not valid: no-op
      // A set whose referrers are all inside it goes in one transaction, whatever the order.
      const blocked = yield* Effect.flip(db.invalidatePaths([fakePath(1), fakePath(2)]))
      expect(blocked._tag === "PathInUseError" && blocked.referrers).toEqual([fakePath(3)])
      yield* db.invalidatePaths([fakePath(1), fakePath(2), fakePath(3)])
      expect(yield* db.queryAllValidPaths).toEqual([])
    }))

  it.scoped("derivation outputs, derivers and closures with outputs/derivers", () =>
    Effect.gen(function*() {
      const db = yield* open
      const drv = fakePath(10, "a.drv")
      const out = fakePath(11, "a")
      const dev = fakePath(12, "a-dev")
      yield* db.registerValidPaths([
        reg(1),
        { path: drv, narHash: fakeHash(10), narSize: 1, references: [fakePath(1)], derivationOutputs: { out, dev } },
        { path: out, narHash: fakeHash(11), narSize: 1, references: [], deriver: drv }
      ])
      expect(yield* db.queryDerivationOutputMap(drv)).toEqual({ out, dev })
      expect(yield* db.queryDerivationOutputs(drv)).toEqual([dev, out].sort())
      expect(yield* db.queryValidDerivers(out)).toEqual([drv])
      expect(yield* db.queryValidDerivers(dev)).toEqual([drv])
      expect(yield* db.queryDeriver(out)).toEqual(Option.some(drv))
      expect(yield* db.computeClosure([drv])).toEqual([drv, fakePath(1)].sort())
      expect(yield* db.computeClosure([drv], { includeOutputs: true })).toEqual([drv, fakePath(1), out].sort())
      expect(yield* db.computeClosure([out], { includeDerivers: true })).toEqual([drv, fakePath(1), out].sort())
      expect(yield* db.computeClosure([out], { direction: "referrers", includeOutputs: true })).toEqual(
        [drv, out].sort()
      )
      expect(yield* db.computeClosure([drv], { direction: "referrers", includeDerivers: true })).toEqual(
        [drv, out].sort()
      )
      // Invalidating the derivation drops its DerivationOutputs rows (cascade).
      yield* db.invalidatePath(drv)
      expect(yield* db.queryValidDerivers(out)).toEqual([])
    }))

  it.scoped("failed paths: register, test, query, clear", () =>
    Effect.gen(function*() {
      const db = yield* open
      yield* db.registerFailedPaths([fakePath(1), fakePath(2), fakePath(3)], 42)
      expect(yield* db.isFailedPath(fakePath(2))).toBe(true)
      expect(yield* db.isFailedPath(fakePath(4))).toBe(false)
      expect(yield* db.queryFailedPaths).toEqual(
        [1, 2, 3].map((n) => ({ path: fakePath(n), time: 42 })).sort((a, b) => a.path < b.path ? -1 : 1)
      )
      yield* db.clearFailedPaths([fakePath(2)])
      expect((yield* db.queryFailedPaths).length).toBe(2)
      yield* db.clearFailedPaths("all")
      expect(yield* db.queryFailedPaths).toEqual([])
    }))

  it.scoped("queryPathFromHashPart uses the range query", () =>
    Effect.gen(function*() {
      const db = yield* open
      yield* db.registerValidPaths([reg(5), reg(6)])
      const hp = (n: number) => fakePath(n).slice("/nix/store/".length, "/nix/store/".length + 32)
      expect(yield* db.queryPathFromHashPart(hp(6))).toEqual(Option.some(fakePath(6)))
      expect(yield* db.queryPathFromHashPart(hp(7))).toEqual(Option.none())
      expect(yield* db.queryPathFromHashPart("short")).toEqual(Option.none())
    }))

  it.scoped("writeTransaction makes several operations atomic", () =>
    Effect.gen(function*() {
      const db = yield* open
      const failed = yield* Effect.flip(db.writeTransaction(
        "two steps",
        Effect.gen(function*() {
          yield* db.registerValidPaths([reg(1)])
          yield* db.registerFailedPaths([fakePath(2)])
          return yield* Effect.fail("abort" as const)
        })
      ))
      expect(failed).toBe("abort")
      expect(yield* db.queryAllValidPaths).toEqual([])
      expect(yield* db.queryFailedPaths).toEqual([])
      yield* db.writeTransaction(
        "two steps",
        Effect.zipRight(db.registerValidPaths([reg(1)]), db.registerValidPaths([reg(2, [1])]))
      )
      expect(yield* db.computeClosure([fakePath(2)])).toEqual([fakePath(1), fakePath(2)].sort())
    }))
})
