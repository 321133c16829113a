// One timed store-database operation in a fresh process (for bench/store.mjs).
// Usage: node bench/_store-op.mjs OP ROOT [ARG]
//   load FILE        parse a --load-db file, registerValidPaths in one transaction
//   qR PATH          closure (references) of PATH, printed like nix-store -qR (same order)
//   referrers PATH   referrers closure of PATH
//   qpi FILE         in-process queryPathInfo latency over the paths of FILE
// Prints the paths (qR/referrers) on stdout and a JSON line with timings on stderr.
import { readFileSync } from "node:fs"
import { Context, Effect, Either, Layer } from "effect"
import { parseValidity } from "../dist/core/validityFormat.js"
import { StoreDb } from "../dist/services/StoreDb.js"
import * as StoreDbLayer from "../dist/stores/local/db/layer.js"
import { makeStoreLayout } from "../dist/core/storeLayout.js"

// The statement queryPathInfo runs (for the raw better-sqlite3 reference figure).
const infoSql = `select p.path as path, p.hash as hash, p.registrationTime as registrationTime, p.deriver as deriver,
  p.narSize as narSize, p.ultimate as ultimate, p.sigs as sigs, p.ca as ca,
  (select group_concat(v.path, ' ') from Refs r join ValidPaths v on v.id = r.reference where r.referrer = p.id) as refs
  from ValidPaths p where p.path = ?`

const [op, root, arg] = process.argv.slice(2)
const t0 = performance.now()
const program = Effect.gen(function*() {
  const db = Context.get(yield* Layer.build(StoreDbLayer.layer({ layout: makeStoreLayout(root) })), StoreDb)
  const tOpen = performance.now()
  const report = { op, openMs: tOpen - t0 }
  if (op === "load") {
    const records = Either.getOrThrow(
      parseValidity(readFileSync(arg, "latin1"), { storeDir: "/nix/store", hashGiven: true })
    )
    const tParsed = performance.now()
    yield* db.registerValidPaths(records)
    report.parseMs = tParsed - tOpen
    report.registerMs = performance.now() - tParsed
    report.paths = records.length
  } else if (op === "qR" || op === "referrers") {
    const closure = yield* db.computeClosure([arg], { direction: op === "qR" ? "references" : "referrers" })
    // Printed like nix-store: the reverse of Nix's topological order.
    const ordered = [...(yield* db.topoSortPaths(closure))].reverse()
    report.queryMs = performance.now() - tOpen
    report.paths = closure.length
    process.stdout.write(ordered.join("\n") + "\n")
  } else if (op === "qpi") {
    const all = yield* db.queryAllValidPaths
    const sample = []
    for (let i = 0; i < 20000; i++) sample.push(all[(i * 7919) % all.length])
    for (let i = 0; i < 2000; i++) yield* db.queryPathInfo(sample[i]) // warm-up
    const c = process.cpuUsage()
    const t = performance.now()
    for (const p of sample) yield* db.queryPathInfo(p)
    const cpu = process.cpuUsage(c)
    report.queryPathInfoUs = ((performance.now() - t) / sample.length) * 1000
    report.queryPathInfoCpuUs = (cpu.user + cpu.system) / sample.length
    // Reference points on the same machine state: the bare SqlClient, and raw better-sqlite3.
    const { createRequire } = yield* Effect.promise(() => import("node:module"))
    const Database = createRequire(import.meta.url)("better-sqlite3")
    const raw = new Database(`${root}/nix/var/nix/db/db.sqlite`, { readonly: true })
    const st = raw.prepare(infoSql)
    for (let i = 0; i < 2000; i++) st.all(sample[i])
    const c2 = process.cpuUsage()
    for (const p of sample) st.all(p)
    const cpu2 = process.cpuUsage(c2)
    raw.close()
    report.rawBetterSqlite3CpuUs = (cpu2.user + cpu2.system) / sample.length
  }
  report.totalMs = performance.now() - t0
  report.maxRssMB = process.resourceUsage().maxRSS / 1024
  process.stderr.write(JSON.stringify(report) + "\n")
}).pipe(Effect.scoped)
Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
