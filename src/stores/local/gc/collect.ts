/**
 * The collector proper (Nix 2.8's `collectGarbage`), computed in bulk:
 *
 * 1. open a {@link GcSession} (GC lock, roots socket, temporary roots);
 * 2. find the roots, list the store directory and all valid paths, and take
 *    the closure of the roots (one recursive SQL statement, with
 *    keep-outputs / keep-derivations): that is the live set;
 * 3. dead = valid paths and store-path-named entries that are not live;
 * 4. delete: valid dead paths referrers first, in batches; before each batch
 *    the temporary roots received meanwhile are taken into account (their
 *    closures become live), the batch is invalidated in one transaction
 *    (a referrer registered meanwhile makes that path, and so its
 *    references, stay), then its files are removed (made writable first).
 *    Then invalid entries, tsnix temporary entries of dead processes, and
 *    other stray entries (as Nix 2.8 does). A batch's invalidation and each
 *    path's removal run uninterruptibly: interrupting stops between two
 *    removals, and `onInterrupt` is told what was deleted until then.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option } from "effect"
import { nixInfo } from "../../../core/nixLog.js"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { compareStrings, makeRankGraph, topoSortRanks } from "../../../core/topoSort.js"
import { PathInUseError } from "../../../services/errors/database.js"
import { toRealPath } from "../../../core/storeLayout.js"
import type { GcContext } from "./context.js"
import { GcIoError, PathAliveError } from "../../../services/errors/gc.js"
import { yieldIfSliceUsedUp } from "../../../io/eventLoop.js"
import { displayPath, joinBytes } from "../../../io/fsOps.js"
import { findRootsNoTemp } from "./findRoots.js"
import { classifyEntries, hashPartOf } from "./liveness.js"
import type { StoreEntries } from "./liveness.js"
import { nixDeleteOrder } from "./deleteOrder.js"
import { removeEntry } from "./remove.js"
import type { GcSession } from "./session.js"
import { deleteUnusedLinksStep } from "./unusedLinks.js"

/** What a collection did or found. */
export interface GcResult {
  /** Deleted paths (deletion), or the live or dead paths (analysis), sorted for analyses. */
  readonly paths: ReadonlyArray<string>
  /** Bytes of the files removed (regular files and symlinks with one link, as Nix counts). */
  readonly bytesFreed: number
}

/** The outcome of the liveness analysis. */
export interface Analysis {
  /** Live paths: the closure of the roots, plus entries of temporarily rooted paths. */
  readonly alive: Set<string>
  readonly valid: Set<string>
  /** Valid dead paths. */
  readonly deadValid: ReadonlyArray<string>
  /** Store-path-named entries that are neither valid nor alive. */
  readonly deadInvalid: ReadonlyArray<string>
  /** The store directory's entries. */
  readonly entries: StoreEntries
  /** The closure flags used. */
  readonly keepOutputs: boolean
  readonly keepDerivations: boolean
}

/**
 * The store directory's entry names. A stray name need not be valid UTF-8:
 * if a decoded name shows U+FFFD, the directory is read again as bytes (the
 * common case keeps the cheaper string listing).
 */
const listStoreDir = (dir: string) =>
  Effect.tryPromise({
    try: async (): Promise<ReadonlyArray<string | Buffer>> => {
      const names = await fs.readdir(dir)
      return names.some((n) => n.includes("\ufffd")) ? fs.readdir(dir, { encoding: "buffer" }) : names
    },
    catch: (cause) => new GcIoError({ path: dir, operation: "opening directory", cause })
  })

/** Whether a process exists (EPERM: it does, owned by someone else). */
const processAlive = (pid: number): boolean => {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"
  }
}

/** Computes the live and dead sets under `session`. */
export const analyse = (
  ctx: GcContext,
  session: GcSession,
  options: { readonly ignoreLiveness: boolean; readonly keepOutputs: boolean; readonly keepDerivations: boolean }
) =>
  Effect.gen(function*() {
    const { db, layout } = ctx
    const { keepOutputs, keepDerivations } = options
    yield* nixInfo("finding garbage collector roots...")
    const roots = options.ignoreLiveness ? new Map<string, Set<string>>() : yield* findRootsNoTemp(ctx, true)
    const allValid = yield* db.queryAllValidPaths
    const entries = classifyEntries(layout.storeDir, yield* listStoreDir(layout.realStoreDir))
    const start = new Set(roots.keys())
    for (const p of allValid) if (session.tempHashes.has(hashPartOf(layout.storeDir, p))) start.add(p)
    const closure = start.size === 0
      ? []
      // In short pages with event-loop turns: one recursive statement over a long chain held the
      // loop for ~0.5 s (the GC lock held by this collection excludes deletions meanwhile).
      : yield* db.computeClosureYielding([...start], { includeOutputs: keepOutputs, includeDerivers: keepDerivations })
        .pipe(
          Effect.catchTag("PathNotValidError", () =>
            // A root vanished between the checks: recompute from the ones still valid.
            Effect.flatMap(
              db.queryValidPaths([...start]),
              (v) => db.computeClosureYielding(v, { includeOutputs: keepOutputs, includeDerivers: keepDerivations })
            ))
        )
    const alive = new Set(closure)
    for (const p of entries.storePaths) if (session.tempHashes.has(hashPartOf(layout.storeDir, p))) alive.add(p)
    const valid = new Set(allValid)
    const deadValid = allValid.filter((p) => !alive.has(p))
    const deadInvalid = entries.storePaths.filter((p) => !valid.has(p) && !alive.has(p))
    const result: Analysis = { alive, valid, deadValid, deadInvalid, entries, keepOutputs, keepDerivations }
    return result
  }).pipe(Effect.withSpan("gc.analyse"))

/** The dead paths as `--print-dead` lists them (sorted; stray entries included, as Nix does). */
export const printableDead = (ctx: GcContext, a: Analysis): Array<string> => {
  const out = new Set<string>([...a.deadValid, ...a.deadInvalid])
  for (const n of a.entries.others) out.add(`${ctx.layout.storeDir}/${n}`)
  for (const n of a.entries.undecodable) out.add(`${ctx.layout.storeDir}/${displayPath(n)}`)
  for (const t of a.entries.tempEntries) if (!processAlive(t.pid)) out.add(`${ctx.layout.storeDir}/${t.name}`)
  return [...out].sort(compareStrings)
}

/** Mutable progress of a deletion. */
interface Progress {
  readonly deleted: Array<string>
  bytesFreed: number
  stopped: boolean
}

/** Takes the roots received over the socket into account: their closures become live. */
const absorbNewRoots = (ctx: GcContext, session: GcSession, a: Analysis) =>
  Effect.gen(function*() {
    if (session.newRoots.length === 0) return
    const fresh = session.newRoots.splice(0)
    for (const p of fresh) a.alive.add(p)
    const valid = yield* ctx.db.queryValidPaths(fresh)
    if (valid.length === 0) return
    const closure = yield* ctx.db.computeClosure(valid, {
      includeOutputs: a.keepOutputs,
      includeDerivers: a.keepDerivations
    }).pipe(Effect.catchTag("PathNotValidError", () => Effect.succeed(valid)))
    for (const p of closure) a.alive.add(p)
  })

/** The largest number of paths invalidated in one transaction. */
const maxBatch = 8192

/**
 * Deletes `ordered` valid paths (referrers first) in batches, stopping once
 * more than `maxFreed` bytes are freed.
 */
const deleteValid = (
  ctx: GcContext,
  session: GcSession,
  a: Analysis,
  ordered: ReadonlyArray<string>,
  progress: Progress,
  maxFreed: number | undefined
) =>
  Effect.gen(function*() {
    const { db, layout } = ctx
    // Batches grow from 256 to 8192 paths: each invalidation transaction rewrites index pages all
    // over the database (deleting 50k random paths in 256-path batches spends ~4 s in commits,
    // in 8192-path ones ~0.4 s), while small first batches keep a short collection responsive.
    let batchSize = maxFreed === undefined ? 256 : 1
    let i = 0
    while (i < ordered.length && !progress.stopped) {
      const size = batchSize
      if (maxFreed === undefined) batchSize = Math.min(batchSize * 2, maxBatch)
      // The roots check and the invalidation of a batch are one uninterruptible step; then its
      // paths are removed one at a time, each uninterruptibly (its removal and its count go
      // together), with interruption possible between two paths: Ctrl-C stops within one path's
      // removal, and an invalidated path not yet removed is an invalid entry the next collection
      // deletes (the store stays consistent: nothing valid is missing).
      yield* Effect.gen(function*() {
        const invalidated = yield* Effect.uninterruptible(Effect.gen(function*() {
          // Check the roots and mark the batch pending, atomically with respect to root arrivals.
          const batch = yield* session.mutex.withPermits(1)(Effect.gen(function*() {
            yield* absorbNewRoots(ctx, session, a)
            const b: Array<string> = []
            while (i < ordered.length && b.length < size) {
              const p = ordered[i++] as string
              if (a.alive.has(p) || session.tempHashes.has(hashPartOf(layout.storeDir, p))) continue
              b.push(p)
            }
            for (const p of b) session.pending.add(hashPartOf(layout.storeDir, p))
            return b
          }))
          if (batch.length === 0) return batch
          let done: Array<string> = batch
          yield* db.invalidatePaths(batch).pipe(
            Effect.catchTag("PathInUseError", () =>
              // Someone registered a referrer meanwhile: go one by one and keep what is in use.
              Effect.gen(function*() {
                done = []
                for (const p of batch) {
                  const r = yield* Effect.either(db.invalidatePath(p))
                  if (Either.isRight(r)) done.push(p)
                  else if (r.left instanceof PathInUseError) a.alive.add(p)
                  else return yield* Effect.fail(r.left)
                }
              }))
          )
          return done
        }))
        for (const p of invalidated) {
          if (progress.stopped) break
          yield* Effect.uninterruptible(Effect.gen(function*() {
            yield* nixInfo(`deleting '${p}'`)
            progress.bytesFreed += yield* removeEntry(toRealPath(layout, p))
            // A client waiting to add this path as a temporary root may go on now (it re-creates the path).
            session.pending.delete(hashPartOf(layout.storeDir, p))
            progress.deleted.push(p)
            if (maxFreed !== undefined && progress.bytesFreed > maxFreed) {
              yield* nixInfo(`deleted more than ${maxFreed} bytes; stopping`)
              progress.stopped = true
            }
          }))
        }
      }).pipe(Effect.ensuring(Effect.sync(() => session.pending.clear())))
    }
  })

/**
 * Deletes entries that are not valid paths (invalid store paths, stray names,
 * given as strings or, when not valid UTF-8, as bytes), skipping rooted or
 * newly valid ones. With `tolerant`, an entry that cannot be removed is
 * reported in a warning and the others are still deleted: a leftover that
 * resists (a half-removed temporary, a foreign file) must not make every
 * later collection fail.
 */
const deleteEntries = (
  ctx: GcContext,
  session: GcSession,
  a: Analysis,
  names: ReadonlyArray<string | Buffer>,
  progress: Progress,
  maxFreed: number | undefined,
  tolerant = false
) =>
  Effect.gen(function*() {
    const { db, layout } = ctx
    const realStoreDir = Buffer.from(layout.realStoreDir)
    for (const name of names) {
      if (progress.stopped) return
      const logical = `${layout.storeDir}/${typeof name === "string" ? name : displayPath(name)}`
      yield* Effect.uninterruptible(
        Effect.gen(function*() {
          const ok = yield* session.mutex.withPermits(1)(Effect.gen(function*() {
            yield* absorbNewRoots(ctx, session, a)
            const h = hashPartOf(layout.storeDir, logical)
            if (a.alive.has(logical) || session.tempHashes.has(h)) return false
            if (yield* db.isValidPath(logical)) return false
            session.pending.add(h)
            return true
          }))
          if (!ok) return
          yield* nixInfo(`deleting '${logical}'`)
          const remove = removeEntry(
            typeof name === "string" ? path.join(layout.realStoreDir, name) : joinBytes(realStoreDir, name)
          )
          const freed = tolerant
            ? yield* remove.pipe(
              Effect.catchTag(
                "GcIoError",
                (e) => Effect.as(Effect.logWarning(`could not delete '${logical}': ${e.message}`), undefined)
              )
            )
            : yield* remove
          if (freed === undefined) return
          progress.bytesFreed += freed
          progress.deleted.push(logical)
          if (maxFreed !== undefined && progress.bytesFreed > maxFreed) {
            yield* nixInfo(`deleted more than ${maxFreed} bytes; stopping`)
            progress.stopped = true
          }
        }).pipe(Effect.ensuring(Effect.sync(() => session.pending.clear())))
      )
    }
  })

/** Paths per `queryPathInfos` call when ordering (small, so each chunk's rows die young). */
const orderChunk = 2048

/**
 * `paths` in deletion order, referrers first: Nix's topological order, over a
 * rank graph in typed arrays. The references are read in chunks, so no
 * path-info object (nor a row per reference) outlives its chunk: reading the
 * 50k dead paths of a 100k store in one query left ~60 MB of garbage in the
 * old generation. Paths that are no longer valid are left out.
 */
const ordered = (ctx: GcContext, paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sorted = [...new Set(paths)].sort(compareStrings)
    const rank = new Map<string, number>()
    sorted.forEach((p, i) => rank.set(p, i))
    const present = new Uint8Array(sorted.length)
    const from: Array<number> = []
    const to: Array<number> = []
    for (let i = 0; i < sorted.length; i += orderChunk) {
      yield* yieldIfSliceUsedUp
      for (const info of yield* ctx.db.queryPathInfos(sorted.slice(i, i + orderChunk))) {
        const r = rank.get(info.path) as number
        present[r] = 1
        for (const ref of info.references) {
          const t = rank.get(ref)
          if (t !== undefined) {
            from.push(r)
            to.push(t)
          }
        }
      }
    }
    // A cycle cannot be registered any more, but a store written by an older tsnix (or by hand)
    // may hold one: its paths are dead together, so the edge closing it is ignored.
    const order = Either.getOrThrow(topoSortRanks(makeRankGraph(sorted.length, from, to), { breakCycles: true }))
    const out: Array<string> = []
    for (const r of order) if (present[r] === 1) out.push(sorted[r] as string)
    return out
  })

/**
 * `paths` (valid, each kept alive only by paths among them) in the order Nix's
 * `--delete` deletes them (see {@link nixDeleteOrder}), following the keep-*
 * edges as the collector does: a derivation's outputs that name it as their
 * deriver (keep-derivations), a path's valid derivers (keep-outputs).
 */
const nixOrdered = (ctx: GcContext, a: Analysis, paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const infos = new Map<
      string,
      { readonly references: ReadonlyArray<string>; readonly deriver: string | undefined }
    >()
    for (let i = 0; i < paths.length; i += orderChunk) {
      yield* yieldIfSliceUsedUp
      for (const info of yield* ctx.db.queryPathInfos(paths.slice(i, i + orderChunk))) {
        infos.set(info.path, { references: info.references, deriver: Option.getOrUndefined(info.deriver) })
      }
    }
    const extra = new Map<string, Array<string>>()
    const addEdge = (from: string, to: string) => {
      const l = extra.get(from)
      if (l === undefined) extra.set(from, [to])
      else l.push(to)
    }
    for (const p of infos.keys()) {
      if (a.keepDerivations && p.endsWith(".drv")) {
        const outputs = yield* ctx.db.queryDerivationOutputMap(p).pipe(
          Effect.catchTag("PathNotValidError", () => Effect.succeed({}))
        )
        for (const o of Object.values(outputs)) if (infos.get(o)?.deriver === p) addEdge(p, o)
      }
      if (a.keepOutputs) { for (const d of yield* ctx.db.queryValidDerivers(p)) addEdge(p, d) }
    }
    return nixDeleteOrder([...infos.keys()], {
      referencesOf: (p) => infos.get(p)?.references ?? [],
      extraOf: (p) => extra.get(p) ?? []
    })
  })

/**
 * Deletes every dead path (`nix-store --gc [--max-freed N]`). When
 * interrupted, `onInterrupt` (if any) gets what was deleted so far (Nix prints
 * its summary line even then).
 */
export const deleteDead = (
  ctx: GcContext,
  session: GcSession,
  a: Analysis,
  maxFreed: number | undefined,
  onInterrupt?: (partial: GcResult) => Effect.Effect<void>
) => {
  const progress: Progress = { deleted: [], bytesFreed: 0, stopped: false }
  return Effect.gen(function*() {
    if (maxFreed !== undefined && maxFreed <= 0) {
      yield* deleteUnusedLinksStep(ctx)
      return { paths: [], bytesFreed: 0 } satisfies GcResult
    }
    yield* nixInfo("deleting garbage...")
    yield* deleteValid(ctx, session, a, yield* ordered(ctx, a.deadValid), progress, maxFreed)
    const base = (p: string) => p.slice(ctx.layout.storeDir.length + 1)
    const stray = [
      ...a.deadInvalid.map(base),
      ...a.entries.tempEntries.filter((t) => !processAlive(t.pid)).map((t) => t.name),
      ...a.entries.others,
      ...a.entries.undecodable
    ]
    yield* deleteEntries(ctx, session, a, stray, progress, maxFreed, true)
    yield* deleteUnusedLinksStep(ctx)
    return { paths: progress.deleted, bytesFreed: progress.bytesFreed } satisfies GcResult
  }).pipe(
    Effect.onInterrupt(() =>
      onInterrupt === undefined
        ? Effect.void
        : onInterrupt({ paths: [...progress.deleted], bytesFreed: progress.bytesFreed })
    ),
    Effect.withSpan("gc.deleteDead")
  )
}

/**
 * Deletes exactly `paths` (`nix-store --delete`): each must be dead, and
 * every path that keeps it alive (referrers, and with keep-* the derivation /
 * output edges) must be among them; otherwise nothing is deleted and the
 * first such path (sorted) is reported with {@link PathAliveError}.
 */
export const deleteSpecific = (ctx: GcContext, session: GcSession, a: Analysis, paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { db, layout } = ctx
    const requested = [...new Set(paths)].sort(compareStrings)
    const set = new Set(requested)
    const validReq = requested.filter((p) => a.valid.has(p))
    const flags = { direction: "referrers", includeOutputs: a.keepOutputs, includeDerivers: a.keepDerivations } as const
    const blocked = (p: string) => a.alive.has(p) || session.tempHashes.has(hashPartOf(layout.storeDir, p))
    let bad = requested.find(blocked)
    if (bad === undefined && validReq.length > 0) {
      const up = yield* db.computeClosure(validReq, flags)
      if (up.some((u) => !set.has(u) || blocked(u))) {
        for (const p of validReq) {
          const mine = yield* db.computeClosure([p], flags)
          if (mine.some((u) => !set.has(u) || blocked(u))) {
            bad = p
            break
          }
        }
      }
    }
    if (bad !== undefined) return yield* new PathAliveError({ path: bad })
    const progress: Progress = { deleted: [], bytesFreed: 0, stopped: false }
    yield* deleteValid(ctx, session, a, yield* nixOrdered(ctx, a, validReq), progress, undefined)
    const existing = new Set(a.entries.storePaths)
    const invalidNames = requested.filter((p) => !a.valid.has(p) && existing.has(p)).map((p) =>
      p.slice(layout.storeDir.length + 1)
    )
    yield* deleteEntries(ctx, session, a, invalidNames, progress, undefined)
    const done = new Set(progress.deleted)
    const notDeleted = validReq.find((p) => !done.has(p))
    if (notDeleted !== undefined) return yield* new PathAliveError({ path: notDeleted })
    yield* deleteUnusedLinksStep(ctx)
    return { paths: progress.deleted, bytesFreed: progress.bytesFreed } satisfies GcResult
  }).pipe(Effect.withSpan("gc.deleteSpecific"))
