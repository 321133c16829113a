import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Logger } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { openDb } from "../../../../src/stores/local/db/open.js"
import { fakeHash, fakePath, openStoreDb, tempLayout } from "./helpers.js"

const insert = (sql: Effect.Effect.Success<ReturnType<typeof openDb>>["sql"], n: number) =>
  sql.unsafe("insert into ValidPaths (path, hash, registrationTime) values (?, ?, 0)", [fakePath(n), fakeHash(n)]).raw

const count = (sql: Effect.Effect.Success<ReturnType<typeof openDb>>["sql"]) =>
  Effect.map(sql.unsafe<{ n: number }>("select count(*) as n from ValidPaths"), (r) => r[0]!.n)

describe("write transactions", () => {
  it.scoped("commit on success, rollback on failure and on defect", () =>
    Effect.gen(function*() {
      const layout = yield* tempLayout
      const { sql, tx } = yield* openDb({ layout })
      yield* tx.write("ok", insert(sql, 1))
      const failed = yield* Effect.exit(
        tx.write("fails", Effect.zipRight(insert(sql, 2), Effect.fail("boom" as const)))
      )
      expect(failed).toEqual(Exit.fail("boom"))
      const died = yield* Effect.exit(tx.write("dies", Effect.zipRight(insert(sql, 3), Effect.die("defect"))))
      expect(Exit.isFailure(died)).toBe(true)
      expect(yield* count(sql)).toBe(1)
    }))

  it.live("an interrupted fiber leaves no rows and the connection usable", () =>
    Effect.scoped(Effect.gen(function*() {
      const layout = yield* tempLayout
      const { sql, tx } = yield* openDb({ layout })
      const written = yield* Deferred.make<number>()
      const fiber = yield* Effect.fork(
        tx.write(
          "long",
          Effect.gen(function*() {
            for (let i = 0; i < 100; i++) yield* insert(sql, i)
            yield* Deferred.succeed(written, yield* count(sql))
            yield* Effect.never
          })
        )
      )
      // The rows are there inside the open transaction…
      expect(yield* Deferred.await(written)).toBe(100)
      yield* Fiber.interrupt(fiber)
      // …and gone after the interruption.
      expect(yield* count(sql)).toBe(0)
      yield* tx.write("after", insert(sql, 1000))
      expect(yield* count(sql)).toBe(1)
    })))

  it.scoped("a failed COMMIT is rolled back and the next transaction works", () =>
    Effect.gen(function*() {
      const layout = yield* tempLayout
      const { sql, tx } = yield* openDb({ layout })
      // A deferred foreign-key violation makes COMMIT itself fail and SQLite keeps the transaction open.
      const exit = yield* Effect.exit(
        tx.write(
          "bad commit",
          Effect.gen(function*() {
            yield* sql.unsafe("PRAGMA defer_foreign_keys = ON").raw
            yield* insert(sql, 1)
            yield* sql.unsafe("insert into Refs (referrer, reference) values (1, 999)").raw
          })
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("StoreDbError")
      expect(yield* count(sql)).toBe(0)
      yield* tx.write("next", insert(sql, 2))
      yield* tx.read("read", count(sql))
      expect(yield* count(sql)).toBe(1)
    }))

  it.live("foreignKeys: false skips enforcement inside, and enforcement is back after commit, failure and interruption", () =>
    Effect.scoped(Effect.gen(function*() {
      const layout = yield* tempLayout
      const { sql, tx } = yield* openDb({ layout })
      const enforced = Effect.map(
        sql.unsafe<{ foreign_keys: number }>("PRAGMA foreign_keys"),
        (r) => r[0]!.foreign_keys
      )
      const dangling = sql.unsafe("insert into Refs (referrer, reference) values (1, 999)").raw
      expect(yield* enforced).toBe(1)
      // Off inside: a row without its parent goes in (the body is responsible for the check)…
      yield* tx.write(
        "bulk",
        Effect.gen(function*() {
          expect(yield* enforced).toBe(0)
          yield* insert(sql, 1)
          yield* dangling
        }),
        { foreignKeys: false }
      )
      // …and on again after the commit: the same insert is refused.
      expect(yield* enforced).toBe(1)
      yield* sql.unsafe("delete from Refs").raw
      expect(Exit.isFailure(yield* Effect.exit(tx.write("checked", dangling)))).toBe(true)
      // Back on after a failing body and after a defect.
      const failed = yield* Effect.exit(
        tx.write("fails", Effect.zipRight(insert(sql, 2), Effect.fail("boom" as const)), { foreignKeys: false })
      )
      expect(failed).toEqual(Exit.fail("boom"))
      expect(yield* enforced).toBe(1)
      const died = yield* Effect.exit(tx.write("dies", Effect.die("defect"), { foreignKeys: false }))
      expect(Exit.isFailure(died)).toBe(true)
      expect(yield* enforced).toBe(1)
      // Back on after an interruption in the middle of the body.
      const inside = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(tx.write(
        "interrupted",
        Effect.gen(function*() {
          yield* insert(sql, 3)
          yield* Deferred.succeed(inside, undefined)
          yield* Effect.never
        }),
        { foreignKeys: false }
      ))
      yield* Deferred.await(inside)
      yield* Fiber.interrupt(fiber)
      expect(yield* enforced).toBe(1)
      expect(yield* count(sql)).toBe(1)
      // Joining an enclosing (enforcing) transaction keeps enforcement on.
      const nested = yield* Effect.exit(tx.write("outer", tx.write("inner", dangling, { foreignKeys: false })))
      expect(Exit.isFailure(nested)).toBe(true)
    })))

  it.live("another connection's lock is waited for in Effect, with a warning, then bounded", () =>
    Effect.scoped(Effect.gen(function*() {
      const layout = yield* tempLayout
      const a = yield* openDb({ layout })
      const b = yield* openDb({ layout, busyPolicy: { maxWait: "20 seconds", warnAfter: "200 millis" } })
      const c = yield* openDb({ layout, busyPolicy: { maxWait: "150 millis" } })
      const inside = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(a.tx.write(
        "holder",
        Effect.gen(function*() {
          yield* insert(a.sql, 1)
          yield* Deferred.succeed(inside, undefined)
          yield* Deferred.await(release)
        })
      ))
      yield* Deferred.await(inside)
      const tooLong = yield* Effect.either(c.tx.write("bounded", insert(c.sql, 3)))
      expect(tooLong._tag === "Left" && tooLong.left._tag).toBe("DatabaseBusyError")
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      const waiter = yield* Effect.fork(
        b.tx.write("waiter", insert(b.sql, 2)).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      )
      yield* Effect.sleep("600 millis")
      expect(waiter.unsafePoll()).toBe(null) // still waiting, the event loop free meanwhile
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.join(waiter)
      expect(yield* count(a.sql)).toBe(2)
      expect(logs.some((l) => l.includes("waiting for the store database lock"))).toBe(true)
    })))
})

describe("opening", () => {
  it.scoped("creates the directories, the schema file and Nix's tables", () =>
    Effect.gen(function*() {
      const layout = yield* tempLayout
      const { sql } = yield* openDb({ layout })
      expect(fs.readFileSync(path.join(layout.dbDir, "schema"), "utf8")).toBe("10")
      const names = (yield* sql.unsafe<{ name: string }>("select name from sqlite_master order by name")).map((r) =>
        r.name
      )
      for (
        const n of [
          "ValidPaths",
          "Refs",
          "DerivationOutputs",
          "IndexReferrer",
          "IndexReference",
          "IndexDerivationOutputs",
          "DeleteSelfRefs"
        ]
      ) {
        expect(names).toContain(n)
      }
      // tsnix's FailedPaths table comes with the first failed path, not with a new database.
      expect(names).not.toContain("FailedPaths")
      const pragmas = yield* sql.unsafe<{ journal_mode: string }>("pragma journal_mode")
      expect(pragmas[0]!.journal_mode).toBe("wal")
      const fk = yield* sql.unsafe<{ foreign_keys: number }>("pragma foreign_keys")
      expect(fk[0]!.foreign_keys).toBe(1)
      const sync = yield* sql.unsafe<{ synchronous: number }>("pragma synchronous")
      expect(sync[0]!.synchronous).toBe(1)
    }))

  it.scoped("fsyncMetadata: false turns synchronous off", () =>
    Effect.gen(function*() {
      const layout = yield* tempLayout
      const { sql } = yield* openDb({ layout, fsyncMetadata: false })
      const sync = yield* sql.unsafe<{ synchronous: number }>("pragma synchronous")
      expect(sync[0]!.synchronous).toBe(0)
    }))

  it.scoped("refuses a newer schema, a Berkeley-DB one and a corrupt schema file", () =>
    Effect.gen(function*() {
      const layout = yield* tempLayout
      fs.mkdirSync(layout.dbDir, { recursive: true })
      const schema = path.join(layout.dbDir, "schema")
      fs.writeFileSync(schema, "11")
      const newer = yield* Effect.flip(openDb({ layout }))
      expect(newer._tag).toBe("SchemaTooNewError")
      expect(newer.message).toContain("version 11")
      fs.writeFileSync(schema, "3")
      const older = yield* Effect.flip(openDb({ layout }))
      expect(older._tag).toBe("SchemaTooOldError")
      expect(older.message).toContain("Nix 0.12")
      fs.writeFileSync(schema, "ten")
      expect((yield* Effect.flip(openDb({ layout })))._tag).toBe("CorruptSchemaFileError")
      expect(fs.existsSync(path.join(layout.dbDir, "db.sqlite"))).toBe(false)
    }))

  it.scoped("read-only: queries work, every write fails with ReadOnlyStoreError", () =>
    Effect.gen(function*() {
      const layout = yield* tempLayout
      yield* Effect.scoped(Effect.gen(function*() {
        const db = yield* openStoreDb({ layout })
        yield* db.registerValidPaths([{ path: fakePath(1), narHash: fakeHash(1), narSize: 8, references: [] }])
      }))
      const ro = yield* openStoreDb({ layout, readOnly: true })
      expect(ro.readOnly).toBe(true)
      expect(yield* ro.isValidPath(fakePath(1))).toBe(true)
      expect(yield* ro.computeClosure([fakePath(1)])).toEqual([fakePath(1)])
      const writes: Array<Effect.Effect<void, { readonly _tag: string }>> = [
        ro.registerValidPaths([{ path: fakePath(2), narHash: fakeHash(2), narSize: 8, references: [] }]),
        ro.invalidatePath(fakePath(1)),
        ro.registerFailedPaths([fakePath(3)]),
        ro.clearFailedPaths("all")
      ]
      for (const w of writes) expect((yield* Effect.flip(w))._tag).toBe("ReadOnlyStoreError")
      const empty = yield* tempLayout
      expect((yield* Effect.flip(openStoreDb({ layout: empty, readOnly: true })))._tag).toBe("StoreDbError")
    }))
})
