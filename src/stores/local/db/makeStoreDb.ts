/**
 * The implementation of the StoreDb service on @effect/sql + better-sqlite3.
 *
 * Every statement is a constant SQL text (prepared once, cached by the client);
 * bulk inputs travel as one JSON parameter expanded by `json_each`, so batch
 * operations cost one statement execution per chunk, not per path.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option, type Scope } from "effect"
import type { SqlError } from "@effect/sql/SqlError"
import type {
  ClosureOptions,
  FailedPath,
  PathRegistration,
  StoreDbShape,
  ValidPathInfo
} from "../../../services/StoreDb.js"
import { PathInUseError, PathNotValidError, StoreDbError } from "../../../services/errors/database.js"
import { fromDbRow, type PathInfoRow } from "../../../core/pathInfo.js"
import { openDb, type OpenDbError, type OpenDbOptions } from "./open.js"
import { registerBatch } from "./register.js"
import { computeClosurePaged } from "./closurePaged.js"
import { failedPathsStatement, hasFailedPathsQuery } from "./schema.js"
import { toStoreDbError } from "./transaction.js"
import { compareStrings, makeRankGraph, ReferenceCycleError, topoSortRanks } from "../../../core/topoSort.js"

/** Options of the StoreDb layer (see OpenDbOptions). */
export type StoreDbOptions = OpenDbOptions

interface InfoRow {
  readonly path: string
  readonly hash: string
  readonly registrationTime: number
  readonly deriver: string | null
  readonly narSize: number | null
  readonly ultimate: number | null
  readonly sigs: string | null
  readonly ca: string | null
  readonly refs: string | null
}

const infoColumns = `p.path as path, p.hash as hash, p.registrationTime as registrationTime, p.deriver as deriver,
  p.narSize as narSize, p.ultimate as ultimate, p.sigs as sigs, p.ca as ca,
  (select group_concat(v.path, ' ') from Refs r join ValidPaths v on v.id = r.reference where r.referrer = p.id) as refs`

const infoSql = `select ${infoColumns} from ValidPaths p where p.path = ?`

/** A row as the database holds it (`narHash` as `sha256:<base16>`, `ca` as text). */
const toRow = (r: InfoRow): PathInfoRow => ({
  path: r.path,
  narHash: r.hash,
  narSize: r.narSize ?? 0,
  deriver: r.deriver === null || r.deriver === "" ? Option.none() : Option.some(r.deriver),
  references: r.refs === null ? [] : r.refs.split(" "),
  registrationTime: r.registrationTime,
  ultimate: r.ultimate !== null && r.ultimate !== 0,
  sigs: r.sigs === null || r.sigs === "" ? [] : r.sigs.split(" "),
  ca: r.ca === null || r.ca === "" ? Option.none() : Option.some(r.ca)
})

/**
 * The row mapper: the one place where the database's text becomes a typed
 * {@link ValidPathInfo} (branded paths, a `Hash`, a `ContentAddress`). A row
 * that does not parse is a StoreDbError naming the path and the column.
 */
const toInfo = (storeDir: string, operation: string) => (r: InfoRow): Effect.Effect<ValidPathInfo, StoreDbError> =>
  Either.match(fromDbRow(storeDir, toRow(r)), {
    onLeft: (e) => Effect.fail(new StoreDbError({ operation, message: e.message, cause: e })),
    onRight: Effect.succeed
  })

/** {@link toInfo} of many rows, in one synchronous pass (fails at the first bad row). */
const toInfos = (
  storeDir: string,
  operation: string,
  rows: ReadonlyArray<InfoRow>
): Effect.Effect<ReadonlyArray<ValidPathInfo>, StoreDbError> =>
  Effect.suspend(() => {
    const out: Array<ValidPathInfo> = []
    for (const r of rows) {
      const info = fromDbRow(storeDir, toRow(r))
      if (Either.isLeft(info)) {
        return Effect.fail(new StoreDbError({ operation, message: info.left.message, cause: info.left }))
      }
      out.push(info.right)
    }
    return Effect.succeed(out)
  })

const closureSql = (options: ClosureOptions): string => {
  const referrers = options.direction === "referrers"
  const terms = referrers
    ? [
      "select r.referrer from Refs r join closure c on r.reference = c.id",
      ...(options.includeOutputs
        ? ["select d.drv from closure c join ValidPaths p on p.id = c.id join DerivationOutputs d on d.path = p.path"]
        : []),
      ...(options.includeDerivers
        ? ["select o.id from closure c join DerivationOutputs d on d.drv = c.id join ValidPaths o on o.path = d.path"]
        : [])
    ]
    : [
      "select r.reference from Refs r join closure c on r.referrer = c.id",
      ...(options.includeOutputs
        ? ["select o.id from closure c join DerivationOutputs d on d.drv = c.id join ValidPaths o on o.path = d.path"]
        : []),
      ...(options.includeDerivers
        ? ["select dv.id from closure c join ValidPaths p on p.id = c.id join ValidPaths dv on dv.path = p.deriver"]
        : [])
    ]
  return `with recursive closure(id) as (
    select v.id from json_each(?) j join ValidPaths v on v.path = j.value
    ${terms.map((t) => `union ${t}`).join("\n    ")}
  ) select id from closure`
}

/**
 * A set of `n` paths counts as "most of the store" (read whole tables in one
 * sequential scan rather than one index lookup per path) when it is at least
 * a quarter of the highest path id.
 */
const isBulk = (n: number, maxId: number): boolean => n >= 1000 && n * 4 >= maxId

/** Parses `"a b a b ..."` (decimal integers separated by single spaces) into pairs. */
const parseIntPairs = (s: string): { readonly from: Int32Array; readonly to: Int32Array; readonly length: number } => {
  const cap = (s.length >> 2) + 1
  const from = new Int32Array(cap)
  const to = new Int32Array(cap)
  let m = 0
  let cur = 0
  let first = true
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 32
    if (c === 32) {
      if (first) from[m] = cur
      else to[m++] = cur
      first = !first
      cur = 0
    } else cur = cur * 10 + (c - 48)
  }
  return { from, to, length: s.length === 0 ? 0 : m }
}

/**
 * The lines of a `group_concat(…, char(10))` of an ordered subquery, sorted.
 * SQLite concatenates in the subquery's order in practice, but does not
 * promise it: the order is checked (one pass) and restored if needed.
 */
const sortedLines = (s: unknown): Array<string> => {
  if (typeof s !== "string" || s === "") return []
  const lines = s.split("\n")
  for (let i = 1; i < lines.length; i++) {
    if (compareStrings(lines[i - 1]!, lines[i]!) > 0) return lines.sort(compareStrings)
  }
  return lines
}

/** Opens the database and builds the service (closed with the scope). */
export const makeStoreDb = (options: StoreDbOptions): Effect.Effect<StoreDbShape, OpenDbError, Scope.Scope> =>
  Effect.gen(function*() {
    const { sql, tx, readOnly } = yield* openDb(options)
    // sql-sqlite-node has exactly one connection; `reserve` hands it out (and the
    // release gives the permit back at once). Single read statements run on it
    // directly while no transaction holds it: better-sqlite3 runs a statement
    // synchronously, so nothing can interleave with it, and this skips the
    // per-statement span, scope, semaphore and compilation of a Statement
    // (~40 µs of a ~75 µs queryPathInfo). Inside or during a transaction they
    // go through the client as usual. Only statements that are never run with
    // `.values` may use this (that toggles the shared prepared statement's raw mode).
    const conn = yield* Effect.scoped(sql.reserve).pipe(
      Effect.mapError(toStoreDbError("opening the database connection"))
    )
    const read = <A extends object>(
      text: string,
      params: ReadonlyArray<unknown>
    ): Effect.Effect<ReadonlyArray<A>, SqlError> =>
      Effect.suspend(() =>
        tx.idle()
          ? (conn.execute(text, params, undefined) as Effect.Effect<ReadonlyArray<A>, SqlError>)
          : sql.unsafe<A>(text, params)
      )
    const storeDir = options.layout.storeDir
    const one = <A>(operation: string, eff: Effect.Effect<A, SqlError>) =>
      tx.single(operation, eff).pipe(Effect.withSpan(`StoreDb.${operation}`, { captureStackTrace: false }))
    // A single fast read: its span is not made the parent of anything (`useSpan`,
    // not `withSpan`: no context copy per call), as nothing runs inside it.
    const oneRead = <A extends object>(operation: string, text: string, params: ReadonlyArray<unknown>) =>
      Effect.useSpan(
        `StoreDb.${operation}`,
        { captureStackTrace: false },
        () => tx.single(operation, read<A>(text, params))
      )
    const span = (name: string) => Effect.withSpan(`StoreDb.${name}`, { captureStackTrace: false })
    // The highest path id (an upper bound of the number of valid paths).
    const maxPathId = sql.unsafe("select max(id) from ValidPaths").values.pipe(
      Effect.map((rows) => (rows[0]?.[0] as number | null | undefined) ?? undefined)
    )

    const hasFailedPaths = sql.unsafe<{ n: number }>(hasFailedPathsQuery).pipe(
      Effect.map((rows) => (rows[0]?.n ?? 0) > 0)
    )

    const queryPathInfo = (path: string) =>
      oneRead<InfoRow>("queryPathInfo", infoSql, [path]).pipe(
        Effect.flatMap((rows) =>
          rows[0] ? Effect.map(toInfo(storeDir, "queryPathInfo")(rows[0]), Option.some) : Effect.succeedNone
        )
      )

    // The same query run to completion now, without a fiber of its own per call: a statement
    // on the idle connection never suspends (better-sqlite3 is synchronous); anything else
    // (a transaction holds the connection, SQLITE_BUSY, a bad row) answers undefined.
    const queryPathInfoNow = (path: string): Option.Option<ValidPathInfo> | undefined => {
      if (!tx.idle()) return undefined
      const rows = Effect.runSyncExit(conn.execute(infoSql, [path], undefined))
      if (rows._tag === "Failure") return undefined
      const r = rows.value[0] as InfoRow | undefined
      if (r === undefined) return Option.none()
      const info = fromDbRow(storeDir, toRow(r))
      return Either.isRight(info) ? Option.some(info.right) : undefined
    }

    const requireInfo = (path: string) =>
      Effect.flatMap(
        queryPathInfo(path),
        (o) => Option.isSome(o) ? Effect.succeed(o.value) : Effect.fail(new PathNotValidError({ path }))
      )

    const queryValidPaths = (paths: ReadonlyArray<string>) =>
      one(
        "queryValidPaths",
        sql.unsafe<{ path: string }>(
          "select j.value as path from json_each(?) j where exists (select 1 from ValidPaths v where v.path = j.value)",
          [JSON.stringify(paths)]
        )
      ).pipe(Effect.map((rows) => rows.map((r) => r.path)))

    const derivationOutputRows = (drvPath: string) =>
      one(
        "queryDerivationOutputs",
        sql.unsafe<{ name: string | null; path: string | null }>(
          "select d.id as name, d.path as path from ValidPaths t left join DerivationOutputs d on d.drv = t.id where t.path = ?",
          [drvPath]
        )
      ).pipe(
        Effect.flatMap((rows) =>
          rows.length === 0
            ? Effect.fail(new PathNotValidError({ path: drvPath }))
            : Effect.succeed(
              rows.filter((r): r is { name: string; path: string } => r.name !== null && r.path !== null)
            )
        )
      )

    const computeClosure = (paths: ReadonlyArray<string>, closureOptions: ClosureOptions = {}) =>
      tx.read(
        "computeClosure",
        Effect.gen(function*() {
          const unique = [...new Set(paths)]
          const valid = yield* sql.unsafe<{ path: string }>(
            "select j.value as path from json_each(?) j where exists (select 1 from ValidPaths v where v.path = j.value)",
            [JSON.stringify(unique)]
          )
          if (valid.length !== unique.length) {
            const ok = new Set(valid.map((r) => r.path))
            return yield* new PathNotValidError({ path: unique.find((p) => !ok.has(p))! })
          }
          const ids = yield* sql.unsafe(closureSql(closureOptions), [JSON.stringify(unique)]).values
          let maxId = 0
          for (const r of ids) if ((r[0] as number) > maxId) maxId = r[0] as number
          if (!isBulk(ids.length, (yield* maxPathId) ?? 0)) {
            const rows = yield* sql.unsafe(
              "select v.path from json_each(?) j join ValidPaths v on v.id = j.value order by v.path",
              [JSON.stringify(ids.map((r) => r[0]))]
            ).values
            return rows.map((r) => r[0] as string)
          }
          // Most of the store: one scan of the path index, keeping the closure's ids.
          const member = new Uint8Array(maxId + 1)
          for (const r of ids) member[r[0] as number] = 1
          const out: Array<string> = []
          for (const r of yield* sql.unsafe("select id, path from ValidPaths order by path").values) {
            const id = r[0] as number
            if (id <= maxId && member[id] === 1) out.push(r[1] as string)
          }
          return out
        })
      ).pipe(span("computeClosure"))

    // topoSortPaths for most of the store: the path index and the whole Refs table
    // are read in one scan each (Refs as one string of id pairs: no per-edge rows).
    const topoSortBulk = (unique: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const want = new Set(unique)
        const all = yield* sql.unsafe("select id, path from ValidPaths order by path").values
        let maxId = 0
        for (const r of all) if ((r[0] as number) > maxId) maxId = r[0] as number
        const rankOfId = new Int32Array(maxId + 1).fill(-1)
        const order: Array<string> = []
        for (const r of all) {
          const p = r[1] as string
          if (want.has(p)) {
            rankOfId[r[0] as number] = order.length
            order.push(p)
          }
        }
        if (order.length !== unique.length) {
          const ok = new Set(order)
          return yield* new PathNotValidError({ path: unique.find((p) => !ok.has(p))! })
        }
        const text = (yield* sql.unsafe("select group_concat(referrer || ' ' || reference, ' ') from Refs").values)[0]
          ?.[0]
        const pairs = parseIntPairs(typeof text === "string" ? text : "")
        const from = new Int32Array(pairs.length)
        const to = new Int32Array(pairs.length)
        let m = 0
        for (let e = 0; e < pairs.length; e++) {
          const a = pairs.from[e]!
          const b = pairs.to[e]!
          if (a > maxId || b > maxId) continue
          const ra = rankOfId[a]!
          const rb = rankOfId[b]!
          if (ra < 0 || rb < 0) continue
          from[m] = ra
          to[m++] = rb
        }
        const sorted = topoSortRanks(makeRankGraph(order.length, from.subarray(0, m), to.subarray(0, m)))
        if (Either.isLeft(sorted)) {
          const [child, parent] = sorted.left
          return yield* new ReferenceCycleError({ path: order[child]!, parent: order[parent]! })
        }
        return Array.from(sorted.right, (r) => order[r]!)
      })

    const topoSort = (paths: ReadonlyArray<string>) =>
      tx.read(
        "topoSortPaths",
        Effect.gen(function*() {
          const unique = [...new Set(paths)]
          if (isBulk(unique.length, (yield* maxPathId) ?? 0)) return yield* topoSortBulk(unique)
          const json = JSON.stringify(unique)
          const ids = yield* sql.unsafe(
            "select v.id, v.path from json_each(?) j join ValidPaths v on v.path = j.value order by v.path",
            [json]
          ).values
          if (ids.length !== unique.length) {
            const ok = new Set(ids.map((r) => r[1] as string))
            return yield* new PathNotValidError({ path: unique.find((p) => !ok.has(p))! })
          }
          // Ranks in path order, edges as rank pairs: sorted in typed arrays, not per-path objects.
          const rankOf = new Map<number, number>()
          ids.forEach((r, i) => rankOf.set(r[0] as number, i))
          const edges = yield* sql.unsafe(
            `select x.referrer, x.reference from json_each(?) j join ValidPaths v on v.path = j.value
               join Refs x on x.referrer = v.id`,
            [json]
          ).values
          const from = new Int32Array(edges.length)
          const to = new Int32Array(edges.length)
          let m = 0
          for (const [a, b] of edges) {
            const rb = rankOf.get(b as number)
            if (rb === undefined) continue
            from[m] = rankOf.get(a as number)!
            to[m++] = rb
          }
          const sorted = topoSortRanks(makeRankGraph(ids.length, from.subarray(0, m), to.subarray(0, m)))
          if (Either.isLeft(sorted)) {
            const [child, parent] = sorted.left
            return yield* new ReferenceCycleError({ path: ids[child]![1] as string, parent: ids[parent]![1] as string })
          }
          return Array.from(sorted.right, (r) => ids[r]![1] as string)
        })
      ).pipe(span("topoSortPaths"))

    // Ids as ranks (ids that are not valid paths have no edges): no path is read.
    const hasReferenceCycle = tx.read(
      "hasReferenceCycle",
      Effect.gen(function*() {
        const maxId = (yield* maxPathId) ?? 0
        const text = (yield* sql.unsafe(
          "select group_concat(referrer || ' ' || reference, ' ') from Refs where referrer != reference"
        ).values)[0]?.[0]
        const pairs = parseIntPairs(typeof text === "string" ? text : "")
        if (pairs.length === 0) return false
        const graph = makeRankGraph(maxId + 1, pairs.from.subarray(0, pairs.length), pairs.to.subarray(0, pairs.length))
        return Either.isLeft(topoSortRanks(graph))
      })
    ).pipe(span("hasReferenceCycle"))

    const invalidatePaths = (paths: ReadonlyArray<string>) =>
      tx.write(
        "invalidatePaths",
        Effect.gen(function*() {
          const json = JSON.stringify([...new Set(paths)])
          const blocked = yield* sql.unsafe<{ target: string; referrer: string }>(
            `select t.path as target, v.path as referrer from json_each(?) j
               join ValidPaths t on t.path = j.value
               join Refs r on r.reference = t.id
               join ValidPaths v on v.id = r.referrer
             where v.id != t.id and v.path not in (select value from json_each(?))
             order by t.path, v.path`,
            [json, json]
          )
          if (blocked.length > 0) {
            const target = blocked[0]!.target
            return yield* new PathInUseError({
              path: target,
              referrers: blocked.filter((b) => b.target === target).map((b) => b.referrer)
            })
          }
          // Drop the set's own references first, so the deletions never hit `on delete restrict`.
          yield* sql.unsafe(
            "delete from Refs where referrer in (select v.id from json_each(?) j join ValidPaths v on v.path = j.value)",
            [json]
          ).raw
          yield* sql.unsafe("delete from ValidPaths where path in (select value from json_each(?))", [json]).raw
        })
      ).pipe(span("invalidatePaths"))

    const shape: StoreDbShape = {
      readOnly,
      storeDir,
      isValidPath: (path) =>
        oneRead("isValidPath", "select 1 as x from ValidPaths where path = ?", [path]).pipe(
          Effect.map((rows) => rows.length > 0)
        ),
      queryValidPaths,
      // One string for the whole table (a row array per path costs several times more, mostly
      // in GC, for 100k paths). Paths never contain a newline.
      queryAllValidPaths: one(
        "queryAllValidPaths",
        sql.unsafe("select group_concat(path, char(10)) from (select path from ValidPaths order by path)").values
      ).pipe(Effect.map((rows) => sortedLines(rows[0]?.[0]))),
      queryPathInfo,
      queryPathInfoNow,
      queryPathInfos: (paths) =>
        one(
          "queryPathInfos",
          paths === undefined
            ? sql.unsafe<InfoRow>(`select ${infoColumns} from ValidPaths p order by p.path`)
            : sql.unsafe<InfoRow>(
              `select ${infoColumns} from json_each(?) j join ValidPaths p on p.path = j.value order by j.key`,
              [JSON.stringify(paths)]
            )
        ).pipe(Effect.flatMap((rows) => toInfos(storeDir, "queryPathInfos", rows))),
      queryReferences: (path) => requireInfo(path).pipe(Effect.map((i) => i.references), span("queryReferences")),
      queryReferrers: (path) =>
        oneRead<{ referrer: string | null }>(
          "queryReferrers",
          `select v.path as referrer from ValidPaths t left join Refs r on r.reference = t.id
             left join ValidPaths v on v.id = r.referrer where t.path = ? order by v.path`,
          [path]
        ).pipe(
          Effect.flatMap((rows) =>
            rows.length === 0
              ? Effect.fail(new PathNotValidError({ path }))
              : Effect.succeed(rows.flatMap((r) => (r.referrer === null ? [] : [r.referrer])))
          )
        ),
      queryDeriver: (path) =>
        oneRead<{ deriver: string | null }>("queryDeriver", "select deriver from ValidPaths where path = ?", [path])
          .pipe(
            Effect.flatMap((rows) =>
              rows[0] === undefined
                ? Effect.fail(new PathNotValidError({ path }))
                : Effect.succeed(Option.fromNullable(rows[0].deriver).pipe(Option.filter((d) => d !== "")))
            )
          ),
      queryValidDerivers: (path) =>
        one(
          "queryValidDerivers",
          sql.unsafe<{ path: string }>(
            "select v.path as path from DerivationOutputs d join ValidPaths v on v.id = d.drv where d.path = ? order by v.path",
            [path]
          )
        ).pipe(Effect.map((rows) => [...new Set(rows.map((r) => r.path))])),
      queryDerivationOutputs: (drvPath) =>
        derivationOutputRows(drvPath).pipe(Effect.map((rows) => [...new Set(rows.map((r) => r.path))].sort())),
      queryDerivationOutputMap: (drvPath) =>
        derivationOutputRows(drvPath).pipe(
          Effect.map((rows) => Object.fromEntries(rows.map((r) => [r.name, r.path] as const)))
        ),
      queryPathFromHashPart: (hashPart) => {
        const prefix = `${storeDir}/${hashPart}`
        if (hashPart.length !== 32) return Effect.succeed(Option.none())
        return one(
          "queryPathFromHashPart",
          sql.unsafe<{ path: string }>("select path from ValidPaths where path >= ? limit 1", [prefix])
        ).pipe(
          Effect.map((rows) => Option.fromNullable(rows[0]?.path).pipe(Option.filter((p) => p.startsWith(prefix))))
        )
      },
      computeClosure,
      computeClosureYielding: (paths, closureOptions) =>
        tx.single("computeClosureYielding", computeClosurePaged(read, paths, closureOptions)).pipe(
          span("computeClosureYielding")
        ),
      topoSortPaths: topoSort,
      hasReferenceCycle,
      registerValidPaths: (infos: ReadonlyArray<PathRegistration>) =>
        // registerBatch checks every parent row itself (referrers and derivations are rows it has
        // just written, references are in the batch or looked up as valid, else it fails): SQLite's
        // own per-row foreign-key look-ups would only repeat that, at ~40% of the insert time.
        tx.write("registerValidPaths", registerBatch(sql, infos), { foreignKeys: false }).pipe(
          span("registerValidPaths")
        ),
      invalidatePath: (path) => invalidatePaths([path]),
      invalidatePaths,
      // FailedPaths is tsnix's own table: created by the first registration, absent from a
      // database Nix made (then there are no failed paths, and clearing has nothing to do).
      registerFailedPaths: (paths, time) =>
        tx.write(
          "registerFailedPaths",
          Effect.zipRight(
            sql.unsafe(failedPathsStatement()).raw,
            sql.unsafe("insert or replace into FailedPaths (path, time) select value, ? from json_each(?)", [
              time ?? Math.floor(Date.now() / 1000),
              JSON.stringify(paths)
            ]).raw
          )
        ).pipe(Effect.asVoid, span("registerFailedPaths")),
      isFailedPath: (path) =>
        tx.read(
          "isFailedPath",
          Effect.flatMap(hasFailedPaths, (has) =>
            has
              ? Effect.map(
                sql.unsafe("select 1 as x from FailedPaths where path = ?", [path]),
                (rows) => rows.length > 0
              )
              : Effect.succeed(false))
        ).pipe(span("isFailedPath")),
      queryFailedPaths: tx.read(
        "queryFailedPaths",
        Effect.flatMap(
          hasFailedPaths,
          (has) => has ? sql.unsafe<FailedPath>("select path, time from FailedPaths order by path") : Effect.succeed([])
        )
      ).pipe(span("queryFailedPaths")),
      writeTransaction: (operation, body) => tx.write(operation, body).pipe(span("writeTransaction")),
      clearFailedPaths: (paths) =>
        tx.write(
          "clearFailedPaths",
          Effect.flatMap(hasFailedPaths, (has) =>
            !has
              ? Effect.void
              : paths === "all"
              ? sql.unsafe("delete from FailedPaths").raw
              // As Nix 1.x: a path clears itself, a valid .drv clears its outputs too.
              : sql.unsafe(
                `delete from FailedPaths where path in (select value from json_each(?))
                   or path in (select d.path from DerivationOutputs d join ValidPaths v on d.drv = v.id
                               where v.path in (select value from json_each(?)))`,
                [JSON.stringify(paths), JSON.stringify(paths)]
              ).raw)
        ).pipe(Effect.asVoid, span("clearFailedPaths"))
    }
    return shape
  })
