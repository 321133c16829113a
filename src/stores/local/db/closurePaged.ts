/**
 * The closure of a set of paths computed in JavaScript from the tables read
 * page by page, for the collector: the same answer as the recursive SQL of
 * `computeClosure`, but no statement runs long and the event loop gets a turn
 * between pages and during the walk (`yieldIfSliceUsedUp`). One recursive
 * statement over a 25 000-long chain of references held the event loop for
 * ~0.5 s; a daemon serving clients from the same process would freeze that long.
 *
 * There is no snapshot across pages: the caller must exclude deletions while it
 * runs (the collector holds the GC lock). Paths registered meanwhile may or may
 * not be seen, as with any later registration; a registered path's references
 * never change.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { SqlError } from "@effect/sql/SqlError"
import type { ClosureOptions } from "../../../services/StoreDb.js"
import { PathNotValidError } from "../../../services/errors/database.js"
import { compareStrings } from "../../../core/topoSort.js"
import { yieldIfSliceUsedUp } from "../../../io/eventLoop.js"

/** Runs one read statement with positional parameters, giving its rows as objects. */
export type ReadRows = <A extends object>(
  text: string,
  params: ReadonlyArray<unknown>
) => Effect.Effect<ReadonlyArray<A>, SqlError>

/** Rows per page: a page is read in a few milliseconds. */
const PAGE = 4096

/** A growable list of int32 pairs. */
const makePairs = () => {
  let a = new Int32Array(1024)
  let b = new Int32Array(1024)
  let n = 0
  return {
    push: (x: number, y: number) => {
      if (n === a.length) {
        const a2 = new Int32Array(n * 2)
        a2.set(a)
        a = a2
        const b2 = new Int32Array(n * 2)
        b2.set(b)
        b = b2
      }
      a[n] = x
      b[n++] = y
    },
    get from() {
      return a.subarray(0, n)
    },
    get to() {
      return b.subarray(0, n)
    },
    get length() {
      return n
    }
  }
}

/**
 * Adjacency lists (compressed rows) of `n` nodes from the edge list `from → to`:
 * the successors of node `i` are `targets[offsets[i] .. offsets[i + 1]]`.
 */
const adjacency = (n: number, from: Int32Array, to: Int32Array) => {
  const offsets = new Int32Array(n + 2)
  for (let e = 0; e < from.length; e++) offsets[from[e]! + 1]!++
  for (let i = 0; i <= n; i++) offsets[i + 1]! += offsets[i]!
  const fill = offsets.slice(0, n + 1)
  const targets = new Int32Array(from.length)
  for (let e = 0; e < from.length; e++) targets[fill[from[e]!]!++] = to[e]!
  return { offsets, targets }
}

/**
 * The closure of `paths` (they included), sorted, following references or
 * referrers, with the outputs and derivers `options` asks for (the meaning of
 * `ClosureOptions`, as `computeClosure`). Fails with PathNotValidError for a
 * path that is not valid.
 */
export const computeClosurePaged = (
  read: ReadRows,
  paths: ReadonlyArray<string>,
  options: ClosureOptions = {}
): Effect.Effect<ReadonlyArray<string>, SqlError | PathNotValidError> =>
  Effect.gen(function*() {
    const referrers = options.direction === "referrers"
    // Every valid path, by id (keyset pages over the integer primary key).
    const pathOf: Array<string | undefined> = []
    const idOf = new Map<string, number>()
    const deriverText: Array<[number, string]> = []
    for (let after = -1;;) {
      const rows = yield* read<{ id: number; path: string; deriver: string | null }>(
        "select id, path, deriver from ValidPaths where id > ? order by id limit ?",
        [after, PAGE]
      )
      for (const r of rows) {
        pathOf[r.id] = r.path
        idOf.set(r.path, r.id)
        if (r.deriver !== null && r.deriver !== "") deriverText.push([r.id, r.deriver])
      }
      if (rows.length < PAGE) break
      after = rows[rows.length - 1]!.id
      yield* yieldIfSliceUsedUp
    }
    const start: Array<number> = []
    for (const p of new Set(paths)) {
      const id = idOf.get(p)
      if (id === undefined) return yield* new PathNotValidError({ path: p })
      start.push(id)
    }
    const n = pathOf.length
    // Edges in the walk's direction, as closureSql's terms:
    // references: referrer → reference; includeOutputs: drv → output; includeDerivers: path → deriver;
    // referrers:  reference → referrer; includeOutputs: output → drv; includeDerivers: drv → output.
    const edges = makePairs()
    for (let afterReferrer = -1, afterReference = -1;;) {
      const rows = yield* read<{ referrer: number; reference: number }>(
        "select referrer, reference from Refs where (referrer, reference) > (?, ?) order by referrer, reference limit ?",
        [afterReferrer, afterReference, PAGE]
      )
      for (const r of rows) {
        if (r.referrer >= n || r.reference >= n) continue
        if (referrers) edges.push(r.reference, r.referrer)
        else edges.push(r.referrer, r.reference)
      }
      if (rows.length < PAGE) break
      afterReferrer = rows[rows.length - 1]!.referrer
      afterReference = rows[rows.length - 1]!.reference
      yield* yieldIfSliceUsedUp
    }
    const drvToOutput = options.includeOutputs === true && !referrers || options.includeDerivers === true && referrers
    const outputToDrv = options.includeOutputs === true && referrers
    if (drvToOutput || outputToDrv) {
      for (let after = -1;;) {
        const rows = yield* read<{ rid: number; drv: number; path: string }>(
          "select rowid as rid, drv, path from DerivationOutputs where rowid > ? order by rowid limit ?",
          [after, PAGE]
        )
        for (const r of rows) {
          const out = idOf.get(r.path)
          if (out === undefined || r.drv >= n || pathOf[r.drv] === undefined) continue
          if (drvToOutput) edges.push(r.drv, out)
          if (outputToDrv) edges.push(out, r.drv)
        }
        if (rows.length < PAGE) break
        after = rows[rows.length - 1]!.rid
        yield* yieldIfSliceUsedUp
      }
    }
    if (options.includeDerivers === true && !referrers) {
      for (const [id, deriver] of deriverText) {
        const d = idOf.get(deriver)
        if (d !== undefined) edges.push(id, d)
      }
    }
    yield* yieldIfSliceUsedUp
    const { offsets, targets } = adjacency(n, edges.from, edges.to)
    const seen = new Uint8Array(n)
    const queue = new Int32Array(n)
    let tail = 0
    for (const id of start) {
      if (seen[id] === 1) continue
      seen[id] = 1
      queue[tail++] = id
    }
    for (let head = 0; head < tail; head++) {
      const id = queue[head]!
      for (let k = offsets[id]!; k < offsets[id + 1]!; k++) {
        const t = targets[k]!
        if (seen[t] === 0 && pathOf[t] !== undefined) {
          seen[t] = 1
          queue[tail++] = t
        }
      }
      if ((head & 1023) === 0) yield* yieldIfSliceUsedUp
    }
    const out: Array<string> = []
    for (let i = 0; i < tail; i++) out.push(pathOf[queue[i]!]!)
    yield* yieldIfSliceUsedUp
    return out.sort(compareStrings)
  })
