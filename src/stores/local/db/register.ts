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
import { makeRankGraph, ReferenceCycleError, topoSortPaths, topoSortRanks } from "../../../core/topoSort.js"

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

const oldRefsSql = `select v.id as id, v.path as path,
    (select group_concat(w.path, ' ') from Refs r join ValidPaths w on w.id = r.reference where r.referrer = v.id) as refs
  from json_each(?) j join ValidPaths v on v.path = j.value`

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

/**
 * Nix's check (its `registerValidPaths` topologically sorts the batch): the
 * references among the batch must not form a cycle; self-references are fine.
 * Same search order as Nix, so the same pair is named.
 */
const batchCycle = (infos: ReadonlyArray<PathRegistration>): ReferenceCycleError | undefined => {
  const refs = new Map(infos.map((i) => [i.path, i.references] as const))
  const sorted = topoSortPaths(refs.keys(), (p) => refs.get(p) ?? [])
  return sorted._tag === "Left" ? sorted.left : undefined
}

/**
 * Beyond Nix: a re-registered path may gain a reference to a valid path that
 * (transitively) refers back to it. Run after the references are written: the
 * paths both reachable from the batch and reaching one of `revalidated` (batch
 * paths valid before) must form no cycle.
 */
const cycleThroughValidPaths = (
  sql: SqlClient.SqlClient,
  batch: ReadonlyArray<number>,
  revalidated: ReadonlyArray<number>
) =>
  Effect.gen(function*() {
    const rows = yield* sql.unsafe(
      `with recursive down(id) as (select value from json_each(?) union select r.reference from Refs r join down on r.referrer = down.id),
         up(id) as (select value from json_each(?) union select r.referrer from Refs r join up on r.reference = up.id)
       select v.id, v.path from ValidPaths v where v.id in (select id from down) and v.id in (select id from up) order by v.path`,
      [JSON.stringify(batch), JSON.stringify(revalidated)]
    ).values
    const rank = new Map<number, number>()
    rows.forEach((r, i) => rank.set(r[0] as number, i))
    const edges = yield* sql.unsafe(
      `select r.referrer, r.reference from json_each(?) j join Refs r on r.referrer = j.value`,
      [JSON.stringify([...rank.keys()])]
    ).values
    const from: Array<number> = []
    const to: Array<number> = []
    for (const [a, b] of edges) {
      const rb = rank.get(b as number)
      if (rb === undefined) continue
      from.push(rank.get(a as number)!)
      to.push(rb)
    }
    const sorted = topoSortRanks(makeRankGraph(rows.length, from, to))
    if (sorted._tag === "Right") return
    const [child, parent] = sorted.left
    return yield* new ReferenceCycleError({ path: rows[child]![1] as string, parent: rows[parent]![1] as string })
  })

/** Progress callback: rows done out of total. */
export type RegisterProgress = (done: number, total: number) => void

/** Options of {@link registerBatch}. */
export interface RegisterBatchOptions {
  readonly onProgress?: RegisterProgress | undefined
  /**
   * Refuse reference cycles (ReferenceCycleError): true unless false. The
   * schema-5 upgrade turns it off: it converts what is there, and the GC copes
   * with a cycle.
   */
  readonly checkCycles?: boolean | undefined
}

/**
 * Inserts or updates the batch, then its references and derivation outputs.
 * Fails (the caller's transaction rolls back) with DanglingReferenceError if a
 * reference is neither valid nor in the batch, with ReferenceCycleError if the
 * references form a cycle (among the batch, or through valid paths when a
 * batch path was valid already).
 */
export const registerBatch = (
  sql: SqlClient.SqlClient,
  infos: ReadonlyArray<PathRegistration>,
  options?: RegisterBatchOptions
): Effect.Effect<void, SqlError | DanglingReferenceError | ReferenceCycleError> =>
  Effect.gen(function*() {
    if (infos.length === 0) return
    const onProgress = options?.onProgress
    const checkCycles = options?.checkCycles !== false
    if (checkCycles) {
      const cycle = batchCycle(infos)
      if (cycle !== undefined) return yield* cycle
    }
    // Batch paths valid before (re-registrations) that gain a reference: only through those can a
    // new cycle run via the db (a cycle already there, written by an older tsnix, is left to --verify).
    const revalidated: Array<number> = []
    if (checkCycles) {
      const refsOf = new Map(infos.map((i) => [i.path, i.references] as const))
      for (const chunk of chunks([...refsOf.keys()], chunkSize)) {
        const rows = yield* sql.unsafe<{ id: number; path: string; refs: string | null }>(oldRefsSql, [
          JSON.stringify(chunk)
        ])
        for (const r of rows) {
          const old = new Set(r.refs === null ? [] : r.refs.split(" "))
          if ((refsOf.get(r.path) ?? []).some((x) => x !== r.path && !old.has(x))) revalidated.push(r.id)
        }
      }
    }
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
    if (revalidated.length > 0) yield* cycleThroughValidPaths(sql, infos.map((i) => ids.get(i.path)!), revalidated)
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
