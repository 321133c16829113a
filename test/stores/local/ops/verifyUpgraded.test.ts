/**
 * `verifyStore({ checkContents })` on a store upgraded from schema 6 (no
 * narSize column): every size is filled in (Nix's "updating size field"),
 * written a page at a time, and the result equals the sizes of the same
 * store never downgraded; a second verify has nothing left to fix. The time
 * against a fresh store is measured by `bench/upgrade-verify.mjs`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import { Store } from "../../../../src/services/Store.js"
import * as StoreLive from "../../../../src/stores/local/layer.js"
import { rawDb } from "../db/helpers.js"

const sizes = (root: string): Array<Record<string, unknown>> => {
  const db = rawDb(path.join(root, "nix/var/nix/db/db.sqlite"), { readonly: true })
  try {
    return db.prepare("select path, narSize from ValidPaths order by path").all()
  } finally {
    db.close()
  }
}

describe("verify after a schema-6 upgrade", () => {
  it.scopedLive("fills in every size, as on a fresh store", () =>
    Effect.gen(function*() {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-verify-upg-"))
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          execFileSync("chmod", ["-R", "u+w", work])
          fs.rmSync(work, { recursive: true, force: true })
        })
      )
      const fresh = path.join(work, "fresh")
      const old = path.join(work, "old")
      const withStore = <A, E>(root: string, f: Effect.Effect<A, E, Store>) =>
        Effect.scoped(Effect.provide(f, StoreLive.layer({ layout: makeStoreLayout(root), fsyncMetadata: false })))
      yield* withStore(
        fresh,
        Effect.flatMap(Store, (s) =>
          Effect.forEach(
            Array.from({ length: 1050 }, (_, i) => i),
            (i) => s.addTextToStore(`p${i}`, `path ${i}\n`.repeat(1 + (i % 9)), []),
            { discard: true }
          ))
      )
      execFileSync("cp", ["-a", fresh, old])
      const db = rawDb(path.join(old, "nix/var/nix/db/db.sqlite"))
      db.exec("pragma foreign_keys = OFF")
      db.exec(`begin;
        create table V6 (id integer primary key autoincrement not null, path text unique not null,
          hash text not null, registrationTime integer not null, deriver text);
        insert into V6 select id, path, hash, registrationTime, deriver from ValidPaths;
        drop table ValidPaths;
        alter table V6 rename to ValidPaths;
        commit;`)
      db.close()
      fs.writeFileSync(path.join(old, "nix/var/nix/db/schema"), "6")
      const first = yield* withStore(old, Effect.flatMap(Store, (s) => s.verifyStore({ checkContents: true })))
      expect(first.errors).toBe(false)
      expect(sizes(old)).toEqual(sizes(fresh))
      expect(sizes(old).every((r) => typeof r.narSize === "number" && r.narSize > 0)).toBe(true)
      const second = yield* withStore(old, Effect.flatMap(Store, (s) => s.verifyStore({ checkContents: true })))
      expect(second.errors).toBe(false)
    }), 120_000)
})
