/**
 * Bulk registration of valid paths (the body of `registerValidPaths`, also used
 * by the schema-5 upgrade). Must run inside a write transaction.
 *
 * It checks every parent row of what it inserts (a reference neither in the
 * batch nor valid is a DanglingReferenceError), so it may run with SQLite's
 * foreign-key enforcement off; `registerValidPaths` does.
 *
 * Each step is one prepared statement per chunk, fed a JSON array through
 * `json_each`, so a 100k-path batch costs a few hundred statement executions.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { PathRegistration } from "../../../services/StoreDb.js"
import { DanglingReferenceError } from "../../../services/errors/database.js"

/** Rows per statement execution. */
const chunkSize = 4000

const chunks = <T>(xs: ReadonlyArray<T>, n: number): Array<ReadonlyArray<T>> => {
  const out: Array<ReadonlyArray<T>> = []
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n))
  return out
}

// Nix's updatePathInfo changes narSize, hash, ultimate, sigs and ca of an already-valid path.
const upsertSql = `insert into ValidPaths (path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca)
  select j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6, j.value ->> 7
  from json_each(?) j where true
  on conflict(path) do update set narSize = excluded.narSize, hash = excluded.hash,
    ultimate = excluded.ultimate, sigs = excluded.sigs, ca = excluded.ca
  returning id, path`

const idsSql = `select v.id as id, v.path as path from json_each(?) j join ValidPaths v on v.path = j.value`

const refsSql =
  `insert or replace into Refs (referrer, reference) select j.value ->> 0, j.value ->> 1 from json_each(?) j`

const drvOutputsSql = `insert or replace into DerivationOutputs (drv, id, path)
  select j.value ->> 0, j.value ->> 1, j.value ->> 2 from json_each(?) j`

/**
 * Lets the event loop run (signal handlers included) between statements of a
 * long registration: better-sqlite3 is synchronous, so without this a SIGINT
 * would only be seen after COMMIT. Also an interruption point.
 */
const yieldToEventLoop = Effect.async<void>((resume) => {
  const t = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(t))
})

/** Progress callback: rows done out of total. */
export type RegisterProgress = (done: number, total: number) => void

/**
 * Inserts or updates the batch, then its references and derivation outputs.
 * Fails with DanglingReferenceError (the caller's transaction rolls back) if a
 * reference is neither valid nor in the batch.
 */
export const registerBatch = (
  sql: SqlClient.SqlClient,
  infos: ReadonlyArray<PathRegistration>,
  onProgress?: RegisterProgress
): Effect.Effect<void, SqlError | DanglingReferenceError> =>
  Effect.gen(function*() {
    if (infos.length === 0) return
    const now = Math.floor(Date.now() / 1000)
    const ids = new Map<string, number>()
    let done = 0
    for (const chunk of chunks(infos, chunkSize)) {
      const json = JSON.stringify(chunk.map((i) => [
        i.path,
        i.narHash,
        i.registrationTime ?? now,
        i.deriver ?? null,
        i.narSize,
        i.ultimate ? 1 : null,
        i.sigs && i.sigs.length > 0 ? i.sigs.join(" ") : null,
        i.ca ?? null
      ]))
      const rows = yield* sql.unsafe<{ id: number; path: string }>(upsertSql, [json])
      for (const r of rows) ids.set(r.path, r.id)
      done += chunk.length
      onProgress?.(done, infos.length)
      yield* yieldToEventLoop
    }
    // References, streamed as JSON text chunks (no per-pair arrays: 100k paths have ~400k refs).
    // A reference outside the batch must already be valid: those (usually few) are looked up
    // afterwards, so each reference costs one Map lookup.
    let json = ""
    let inChunk = 0
    /** Appends a pair; true when the chunk is full (then `flush` it). */
    const addRef = (referrer: number, reference: number): boolean => {
      json += inChunk === 0 ? `[[${referrer},${reference}]` : `,[${referrer},${reference}]`
      return ++inChunk === chunkSize * 4
    }
    const flush = Effect.suspend(() => {
      const text = json + "]"
      json = ""
      inChunk = 0
      return Effect.zipRight(sql.unsafe(refsSql, [text]).raw, yieldToEventLoop)
    })
    const deferred: Array<{ readonly path: string; readonly referrer: number; readonly reference: string }> = []
    for (const i of infos) {
      const referrer = ids.get(i.path)!
      for (const r of i.references) {
        const reference = ids.get(r)
        if (reference === undefined) deferred.push({ path: i.path, referrer, reference: r })
        else if (addRef(referrer, reference)) yield* flush
      }
    }
    if (deferred.length > 0) {
      const outside = [...new Set(deferred.map((d) => d.reference))]
      for (const chunk of chunks(outside, chunkSize)) {
        const rows = yield* sql.unsafe<{ id: number; path: string }>(idsSql, [JSON.stringify(chunk)])
        for (const r of rows) ids.set(r.path, r.id)
      }
      for (const d of deferred) {
        const reference = ids.get(d.reference)
        if (reference === undefined) return yield* new DanglingReferenceError({ path: d.path, reference: d.reference })
        if (addRef(d.referrer, reference)) yield* flush
      }
    }
    if (inChunk > 0) yield* sql.unsafe(refsSql, [json + "]"]).raw
    const outputs: Array<readonly [number, string, string]> = []
    for (const i of infos) {
      if (!i.derivationOutputs) continue
      const drv = ids.get(i.path)!
      for (const [name, out] of Object.entries(i.derivationOutputs)) outputs.push([drv, name, out])
    }
    for (const chunk of chunks(outputs, chunkSize)) {
      yield* sql.unsafe(drvOutputsSql, [JSON.stringify(chunk)]).raw
    }
  })
