import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { StoreLayout } from "../../../../src/core/storeLayout.js"
import { fakeHash, fakePath, openStoreDb, rawDb, tempLayout } from "./helpers.js"

const oldCommon = `
create table Refs (referrer integer not null, reference integer not null, primary key (referrer, reference),
  foreign key (referrer) references ValidPaths(id) on delete cascade,
  foreign key (reference) references ValidPaths(id) on delete restrict);
create index IndexReferrer on Refs(referrer);
create index IndexReference on Refs(reference);
create trigger DeleteSelfRefs before delete on ValidPaths begin delete from Refs where referrer = old.id and reference = old.id; end;
create table DerivationOutputs (drv integer not null, id text not null, path text not null, primary key (drv, id),
  foreign key (drv) references ValidPaths(id) on delete cascade);
create index IndexDerivationOutputs on DerivationOutputs(path);`
const failedPaths = "create table FailedPaths (path text primary key not null, time integer not null);"

/** ValidPaths DDL of each old schema. */
const oldSchemas: Record<number, string> = {
  6: `create table ValidPaths (id integer primary key autoincrement not null, path text unique not null,
        hash text not null, registrationTime integer not null, deriver text);${oldCommon}${failedPaths}`,
  8: `create table ValidPaths (id integer primary key autoincrement not null, path text unique not null,
        hash text not null, registrationTime integer not null, deriver text, narSize integer, ultimate integer, sigs text);
      ${oldCommon}${failedPaths}`,
  9: `create table ValidPaths (id integer primary key autoincrement not null, path text unique not null,
        hash text not null, registrationTime integer not null, deriver text, narSize integer, ultimate integer, sigs text);
      ${oldCommon}`
}

const makeOldSqliteStore = (layout: StoreLayout, version: number) => {
  fs.mkdirSync(layout.dbDir, { recursive: true })
  const db = rawDb(path.join(layout.dbDir, "db.sqlite"))
  db.exec(oldSchemas[version]!)
  const ins = db.prepare("insert into ValidPaths (path, hash, registrationTime, deriver) values (?, ?, ?, ?)")
  ins.run(fakePath(1), fakeHash(1), 100, null)
  ins.run(fakePath(2), fakeHash(2), 200, fakePath(3, "b.drv"))
  ins.run(fakePath(3, "b.drv"), fakeHash(3), 300, null)
  db.exec("insert into Refs values (2, 1), (2, 2), (3, 1)")
  db.exec(`insert into DerivationOutputs values (3, 'out', '${fakePath(2)}')`)
  if (version < 9) db.exec(`insert into FailedPaths values ('${fakePath(7)}', 77)`)
  db.close()
  fs.writeFileSync(path.join(layout.dbDir, "schema"), String(version))
}

const checkUpgraded = (layout: StoreLayout, hadFailedPaths = true) =>
  Effect.gen(function*() {
    expect(fs.readFileSync(path.join(layout.dbDir, "schema"), "utf8")).toBe("10")
    const raw = rawDb(path.join(layout.dbDir, "db.sqlite"))
    const cols = raw.prepare("pragma table_info(ValidPaths)").all().map((c) => String(c.name))
    const tables = raw.prepare("select name from sqlite_master where type = 'table'").all().map((c) => String(c.name))
    const fk = raw.prepare("pragma foreign_key_check").all()
    raw.close()
    expect(cols).toEqual(["id", "path", "hash", "registrationTime", "deriver", "narSize", "ultimate", "sigs", "ca"])
    // FailedPaths stays where the old store had failed paths; none is created otherwise (Nix has none).
    if (hadFailedPaths) expect(tables).toContain("FailedPaths")
    else expect(tables).not.toContain("FailedPaths")
    expect(fk).toEqual([])
    const db = yield* openStoreDb({ layout })
    const info = Option.getOrThrow(yield* db.queryPathInfo(fakePath(2)))
    expect(info.references).toEqual([fakePath(1), fakePath(2)].sort())
    expect(info.registrationTime).toBe(200)
    expect(info.deriver).toEqual(Option.some(fakePath(3, "b.drv")))
    expect(yield* db.queryDerivationOutputMap(fakePath(3, "b.drv"))).toEqual({ out: fakePath(2) })
    expect(yield* db.computeClosure([fakePath(2)])).toEqual([fakePath(1), fakePath(2)].sort())
    yield* db.registerValidPaths([{
      path: fakePath(4),
      narHash: fakeHash(4),
      narSize: 1,
      references: [fakePath(2)],
      ca: `text:sha256:${"0".repeat(52)}`
    }])
    return db
  })

describe("upgrades", () => {
  for (const version of [6, 8, 9]) {
    it.scoped(`from SQLite schema ${version}`, () =>
      Effect.gen(function*() {
        const layout = yield* tempLayout
        makeOldSqliteStore(layout, version)
        let locked = 0
        const progress: Array<string> = []
        yield* Effect.scoped(openStoreDb({
          layout,
          upgradeLock: (eff) =>
            Effect.suspend(() => {
              locked++
              return eff
            }),
          onProgress: (p) => progress.push(p.phase)
        }))
        expect(locked).toBe(1)
        expect(progress).toContain("done")
        const db = yield* checkUpgraded(layout, version < 9)
        expect(yield* db.queryFailedPaths).toEqual(version < 9 ? [{ path: fakePath(7), time: 77 }] : [])
      }))
  }

  const writeInfo = (layout: StoreLayout, n: number, name: string, text: string) => {
    fs.mkdirSync(path.join(layout.dbDir, "info"), { recursive: true })
    fs.writeFileSync(path.join(layout.dbDir, "info", fakePath(n, name).slice("/nix/store/".length)), text)
  }
  const makeSchema5 = (layout: StoreLayout) => {
    writeInfo(layout, 1, "p", `Hash: ${fakeHash(1)}\nReferences: \nRegistered-At: 100\n`)
    writeInfo(
      layout,
      2,
      "p",
      `Hash: ${fakeHash(2)}\nReferences: ${fakePath(1)} ${fakePath(2)}\nDeriver: ${
        fakePath(3, "b.drv")
      }\nRegistered-At: 200\n`
    )
    writeInfo(layout, 3, "b.drv", `Hash: ${fakeHash(3)}\nReferences: ${fakePath(1)}\nRegistered-At: 300\n`)
    fs.mkdirSync(path.join(layout.dbDir, "failed"), { recursive: true })
    fs.writeFileSync(path.join(layout.dbDir, "failed", fakePath(7).slice("/nix/store/".length)), "")
    fs.writeFileSync(path.join(layout.dbDir, "schema"), "5")
  }
  const readDerivationOutputs = (drv: string) =>
    Effect.succeed(drv === fakePath(3, "b.drv") ? { out: fakePath(2) } : undefined)

  it.scoped("from the schema-5 info files, idempotently", () =>
    Effect.gen(function*() {
      const layout = yield* tempLayout
      makeSchema5(layout)
      const phases = new Set<string>()
      yield* Effect.scoped(openStoreDb({ layout, readDerivationOutputs, onProgress: (p) => phases.add(p.phase) }))
      expect([...phases]).toEqual(["reading-info-files", "registering", "done"])
      yield* Effect.scoped(checkUpgraded(layout))
      expect(fs.readdirSync(path.join(layout.dbDir, "info")).length).toBe(3)
      // As if the process died after the commit but before writing the schema file: redone, same result.
      fs.writeFileSync(path.join(layout.dbDir, "schema"), "5")
      const db = yield* openStoreDb({ layout, readDerivationOutputs })
      expect(yield* db.queryAllValidPaths).toEqual([fakePath(1), fakePath(2), fakePath(3, "b.drv")].sort())
      expect((yield* db.queryFailedPaths).map((f) => f.path)).toEqual([fakePath(7)])
    }))

  it.scoped("a corrupt info file is named and nothing is lost; fixing it lets the upgrade finish", () =>
    Effect.gen(function*() {
      const layout = yield* tempLayout
      makeSchema5(layout)
      writeInfo(layout, 1, "p", "Hash: md5:nothex\n")
      const err = yield* Effect.flip(openStoreDb({ layout }))
      expect(err._tag).toBe("CorruptInfoFileError")
      expect(err.message).toContain(fakePath(1).slice("/nix/store/".length))
      expect(fs.readFileSync(path.join(layout.dbDir, "schema"), "utf8")).toBe("5")
      writeInfo(layout, 1, "p", `Hash: ${fakeHash(1)}\nReferences: ${fakePath(9)}\n`)
      const dangling = yield* Effect.flip(openStoreDb({ layout }))
      expect(dangling._tag).toBe("CorruptInfoFileError")
      expect(dangling.message).toContain(fakePath(9))
      expect(fs.readFileSync(path.join(layout.dbDir, "schema"), "utf8")).toBe("5")
      writeInfo(layout, 1, "p", `Hash: ${fakeHash(1)}\nReferences: \nRegistered-At: 100\n`)
      yield* Effect.scoped(openStoreDb({ layout, readDerivationOutputs }))
      yield* Effect.scoped(checkUpgraded(layout))
    }))
})
