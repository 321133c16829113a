#!/usr/bin/env node
// `npm run bench -- upgrade-verify [N]`: `tsnix --verify --check-contents` on a fresh store of N small
// text paths (default 25000) and on the same store converted to schema 6 (no narSize, ultimate, sigs,
// ca columns; upgraded by the first opening), first run (the upgrade and Nix's "updating size field"
// for every path) and second run. Prints one JSON line per run.
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import Database from "better-sqlite3"
import { Effect } from "effect"
import * as StoreLive from "../dist/stores/local/layer.js"
import { makeStoreLayout } from "../dist/core/storeLayout.js"
import { Store } from "../dist/services/Store.js"

const here = dirname(fileURLToPath(import.meta.url))
const tsnix = join(here, "../bin/tsnix")
const n = Number(process.argv[2] ?? "25000")
const work = mkdtempSync(join(tmpdir(), "tsnix-bench-upgrade-"))
const fresh = join(work, "fresh")
const old = join(work, "old")

try {
  const t0 = performance.now()
  await Effect.runPromise(Effect.scoped(Effect.provide(
    Effect.gen(function*() {
      const store = yield* Store
      for (let i = 0; i < n; i++) yield* store.addTextToStore(`p${i}`, `path ${i}\n`.repeat(1 + (i % 40)), [])
    }),
    StoreLive.layer({ layout: makeStoreLayout(fresh), fsyncMetadata: false })
  )))
  console.error(`populated ${n} paths in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  execFileSync("cp", ["-a", fresh, old])
  // The same database in schema 6: ValidPaths without the later columns.
  const dbFile = join(old, "nix/var/nix/db/db.sqlite")
  const db = new Database(dbFile)
  db.pragma("foreign_keys = OFF")
  db.exec(`begin;
    create table ValidPaths6 (id integer primary key autoincrement not null, path text unique not null,
      hash text not null, registrationTime integer not null, deriver text);
    insert into ValidPaths6 select id, path, hash, registrationTime, deriver from ValidPaths;
    drop table ValidPaths;
    alter table ValidPaths6 rename to ValidPaths;
    create trigger if not exists DeleteSelfRefs before delete on ValidPaths
      begin delete from Refs where referrer = old.id and reference = old.id; end;
    commit;`)
  db.pragma("journal_mode = DELETE")
  db.close()
  writeFileSync(join(old, "nix/var/nix/db/schema"), "6")
  const run = (label, root) => {
    const t = performance.now()
    const r = spawnSync(process.execPath, [tsnix, "--store", root, "--verify", "--check-contents"], {
      env: { ...process.env, NIX_CONFIG: "fsync-metadata = false" },
      encoding: "utf8",
      maxBuffer: 1 << 28
    })
    const ms = performance.now() - t
    const sizeFixes = (r.stderr.match(/updating size field/g) ?? []).length
    console.log(JSON.stringify({ run: label, paths: n, status: r.status, seconds: +(ms / 1000).toFixed(2), sizeFixes }))
  }
  run("fresh", fresh)
  run("schema 6, first (upgrade + size fixes)", old)
  run("schema 6, second", old)
  run("fresh, second", fresh)
} finally {
  spawnSync("chmod", ["-R", "u+w", work])
  rmSync(work, { recursive: true, force: true })
}
