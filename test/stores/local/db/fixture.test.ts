import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { render as renderContentAddress } from "../../../../src/core/contentAddress.js"
import { printHashWithAlgo } from "../../../../src/core/hash.js"
import { printDumpDb } from "../../../../src/core/validityFormat.js"
import type { StoreDb } from "../../../../src/services/StoreDb.js"
import * as fs from "node:fs"
import * as path from "node:path"
import { fixtureLayout, openStoreDb, rawDb, tempLayout, golden, goldenPaths } from "./helpers.js"

const lines = (s: string) => s.trim().split("\n").filter((l) => l !== "")

const withFixture = <A, E>(f: (db: typeof StoreDb.Service) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const layout = yield* fixtureLayout
    const db = yield* openStoreDb({ layout })
    return yield* f(db)
  })

describe("a database written by Nix 2.8", () => {
  it.scoped("dumps exactly as nix-store --dump-db", () =>
    withFixture((db) =>
      Effect.gen(function*() {
        const infos = yield* db.queryPathInfos()
        const dump = printDumpDb(infos)
        expect(dump).toBe(golden("dump-db.txt"))
        const p = goldenPaths()
        const subset = yield* db.queryPathInfos([p.top!, p.p2!])
        expect(printDumpDb(subset)).toBe(
          golden("dump-db-subset.txt")
        )
      })
    ))

  it.scoped("answers closure and derivation queries as nix-store does", () =>
    withFixture((db) =>
      Effect.gen(function*() {
        const p = goldenPaths()
        expect(yield* db.computeClosure([p.top!])).toEqual(lines(golden("qR.txt")).sort())
        expect(yield* db.computeClosure([p.drv!])).toEqual(lines(golden("qR-drv.txt")).sort())
        expect(yield* db.computeClosure([p.leaf!], { direction: "referrers" })).toEqual(
          lines(golden("referrers-closure.txt")).sort()
        )
        // Byte-identical to nix-store's output order: the reverse of Nix's topological sort.
        const printed = (paths: ReadonlyArray<string>) => Effect.map(db.topoSortPaths(paths), (s) => [...s].reverse())
        expect(yield* printed(yield* db.computeClosure([p.top!]))).toEqual(lines(golden("qR.txt")))
        expect(yield* printed(yield* db.computeClosure([p.drv!]))).toEqual(lines(golden("qR-drv.txt")))
        expect(yield* printed(yield* db.computeClosure([p.leaf!], { direction: "referrers" }))).toEqual(
          lines(golden("referrers-closure.txt"))
        )
        expect(yield* db.queryDerivationOutputs(p.drv!)).toEqual(lines(golden("drv-outputs.txt")).sort())
        const map = yield* db.queryDerivationOutputMap(p.drv!)
        expect(Object.keys(map).sort()).toEqual(["dev", "out"])
        expect(map.out).toMatch(/-demo$/)
        expect(yield* db.queryValidDerivers(map.out!)).toEqual([p.drv])
        expect(yield* db.queryReferrers(p.p2!)).toEqual([p.p2])
        expect(yield* db.queryReferrers(p.leaf!)).toEqual([p.top, p.mid].sort())
        expect(yield* db.queryDeriver(p.p2!)).toEqual(Option.some(p.drv))
        expect(yield* db.queryDeriver(p.p1!)).toEqual(Option.none())
        const hello = Option.getOrThrow(yield* db.queryPathInfo(p.hello!))
        expect(printHashWithAlgo(hello.narHash, "base16")).toBe(
          "sha256:1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13"
        )
        expect(hello.narSize).toBe(120)
        expect(renderContentAddress(Option.getOrThrow(hello.ca))).toMatch(/^fixed:r:sha256:/)
        const hashPart = p.hello!.slice("/nix/store/".length, "/nix/store/".length + 32)
        expect(yield* db.queryPathFromHashPart(hashPart)).toEqual(Option.some(p.hello))
        expect(yield* db.queryPathFromHashPart("z".repeat(32))).toEqual(Option.none())
        expect(yield* db.queryAllValidPaths).toEqual(Object.values(p).sort())
        expect(yield* db.queryValidPaths([p.top!, "/nix/store/" + "a".repeat(32) + "-x", p.p1!])).toEqual([p.top, p.p1])
      })
    ))

  it.scoped("opened read-only or read-write, a Nix database is not written: same bytes, no -wal/-shm, no failed paths", () =>
    Effect.gen(function*() {
      const layout = yield* fixtureLayout
      const dbFile = path.join(layout.dbDir, "db.sqlite")
      const before = fs.readFileSync(dbFile)
      for (const readOnly of [true, false]) {
        yield* Effect.scoped(Effect.gen(function*() {
          const db = yield* openStoreDb({ layout, readOnly })
          expect(db.readOnly).toBe(readOnly)
          expect(yield* db.queryFailedPaths).toEqual([])
          expect(yield* db.isFailedPath(goldenPaths().top!)).toBe(false)
          expect((yield* db.queryAllValidPaths).length).toBeGreaterThan(0)
          if (readOnly) {
            // Immutable opening: SQLite made no -wal/-shm files.
            expect(fs.readdirSync(layout.dbDir).sort()).toEqual(["db.sqlite", "schema"])
            expect((yield* Effect.flip(db.registerFailedPaths([goldenPaths().top!])))._tag).toBe("ReadOnlyStoreError")
          } else {
            yield* db.clearFailedPaths("all")
          }
        }))
        expect(fs.readFileSync(dbFile).equals(before)).toBe(true)
        expect(fs.readdirSync(layout.dbDir).filter((n) => n.startsWith("db.sqlite"))).toEqual(["db.sqlite"])
      }
    }))

  it.scoped("a new tsnix database has Nix 2.8's schema exactly; FailedPaths comes with the first failed path", () =>
    Effect.gen(function*() {
      const nix = yield* fixtureLayout
      const ours = yield* tempLayout
      yield* Effect.scoped(openStoreDb({ layout: ours }))
      const master = (layout: typeof ours) => {
        const raw = rawDb(path.join(layout.dbDir, "db.sqlite"), { readonly: true })
        const rows = raw.prepare("select type, name, tbl_name, sql from sqlite_master order by name").all()
        raw.close()
        return rows
      }
      const nixRows = master(nix)
      expect(master(ours)).toEqual(nixRows)
      yield* Effect.scoped(
        Effect.flatMap(
          openStoreDb({ layout: ours }),
          (db) => db.registerFailedPaths(["/nix/store/" + "a".repeat(32) + "-x"])
        )
      )
      const ourRows = master(ours)
      expect(ourRows.filter((r) => r.tbl_name !== "FailedPaths")).toEqual(nixRows)
      expect(ourRows.find((r) => r.name === "FailedPaths")?.sql).toMatch(
        /path text primary key not null,\s+time integer not null/
      )
      expect(fs.readFileSync(path.join(ours.dbDir, "schema"), "utf8")).toBe(
        fs.readFileSync(path.join(nix.dbDir, "schema"), "utf8")
      )
    }))
})
