/**
 * `nix-store --optimise` and `auto-optimise-store` (Nix 2.8's
 * optimise-store.cc): identical files of the store become hard links to one
 * copy in `STORE/.links/`, named by the nix32 sha256 of the file's NAR
 * serialisation. The file-system walk is {@link optimiseTree}.
 *
 * `optimiseStore` visits every valid path (sorted, as Nix's std::set), each
 * under a temporary root (so a collector keeps it) and only if it is still
 * valid; `.links` inodes seen before are skipped. `optimisePath` is what an
 * add or import does before registering a path when `auto-optimise-store`
 * is set.
 *
 * @since 0.1.0
 */
import { Effect, FiberRef, LogLevel, Runtime } from "effect"
import { nixLog } from "../../../core/nixLog.js"
import * as fs from "node:fs"
import * as path from "node:path"
import type { StoreLayout } from "../../../core/storeLayout.js"
import { toRealPath } from "../../../core/storeLayout.js"
import { clearProgress, reportProgress } from "../../../services/Progress.js"
import type { StoreParts } from "./context.js"
import { StoreIoError } from "../../../services/errors/store.js"
import {
  emptyStats,
  loadInodeHash,
  type OptimiseContext,
  OptimiseFsError,
  type OptimiseLog,
  type OptimiseStats,
  optimiseTree
} from "./optimiseFs.js"

export type { OptimiseStats } from "./optimiseFs.js"

/** `STORE/.links`, where the shared copies live. */
export const linksDirOf = (layout: StoreLayout): string => path.join(layout.realStoreDir, ".links")

/** The walk's messages through the current fiber's logger (as Nix's levels map to tsnix's). */
export const currentOptimiseLog = Effect.gen(function*() {
  const run = Runtime.runSync(yield* Effect.runtime<never>())
  // Per-file lines: when they would be dropped anyway, they are not even sent.
  const level = yield* FiberRef.get(FiberRef.currentMinimumLogLevel)
  const off = () => undefined
  const log: OptimiseLog = {
    warn: (m) => run(Effect.logWarning(m)),
    info: (m) => run(nixLog("info", m)),
    // Nix's printError without the prefix (see nixPrintError).
    error: (m) => run(nixLog("error", m)),
    // Nix's talkative and debug levels are Trace (the CLI shows them with -v, -vv).
    talkative: LogLevel.lessThanEqual(level, LogLevel.Trace) ? (m) => run(nixLog("talkative", m)) : off,
    debug: LogLevel.lessThanEqual(level, LogLevel.Trace) ? (m) => run(nixLog("debug", m)) : off
  }
  return log
})

/** A walk's failure as a store error (Nix's message, the system's reason). */
const toStoreError = (fallbackPath: string) => (cause: unknown): StoreIoError =>
  cause instanceof OptimiseFsError
    ? new StoreIoError({ path: cause.path, operation: cause.operation, cause: cause.cause })
    : new StoreIoError({ path: fallbackPath, operation: "optimising", cause })

/** Creates `.links` if needed (mode 0755 under the usual umask, as Nix's createDirs). */
const ensureLinksDir = (layout: StoreLayout) =>
  Effect.try({
    try: () => void fs.mkdirSync(linksDirOf(layout), { recursive: true }),
    catch: (cause) => new StoreIoError({ path: linksDirOf(layout), operation: "creating directory", cause })
  })

/** Runs the walk over one real path. */
const walk = (ctx: Omit<OptimiseContext, "signal">, real: string) =>
  Effect.tryPromise({
    try: (signal) => optimiseTree({ ...ctx, signal }, Buffer.from(real)),
    catch: toStoreError(real)
  })

/**
 * Optimises one path's files (a real path inside the store), with an empty
 * inode cache, as Nix's `optimisePath` does for `auto-optimise-store`.
 */
export const optimisePath = (layout: StoreLayout, real: string): Effect.Effect<OptimiseStats, StoreIoError> =>
  Effect.gen(function*() {
    yield* ensureLinksDir(layout)
    const stats = emptyStats()
    const log = yield* currentOptimiseLog
    yield* walk({
      realStoreDir: Buffer.from(layout.realStoreDir),
      linksDir: Buffer.from(linksDirOf(layout)),
      inodes: new Set(),
      stats,
      log
    }, real)
    return stats
  }).pipe(Effect.withSpan("Store.optimisePath", { attributes: { path: real } }))

/**
 * Nix's `optimisePath` as the add and import paths call it, on a new path's
 * real files before registration: does nothing unless `auto-optimise-store`.
 */
export const autoOptimise = (parts: StoreParts, real: string): Effect.Effect<void, StoreIoError> =>
  parts.autoOptimise === true ? Effect.asVoid(optimisePath(parts.layout, real)) : Effect.void

/** Paths rooted, checked and walked together by {@link optimiseStore}. */
const CHUNK = 256

/** `nix-store --optimise`: optimises every valid path and returns what it did. */
export const optimiseStore = (parts: StoreParts) =>
  Effect.gen(function*() {
    const { db, layout, lock } = parts
    yield* ensureLinksDir(layout)
    const paths = yield* db.queryAllValidPaths
    const linksDir = Buffer.from(linksDirOf(layout))
    yield* Effect.logTrace("loading hash inodes in memory")
    const inodes = yield* Effect.tryPromise({
      try: (signal) => loadInodeHash(linksDir, signal),
      catch: (cause) => new StoreIoError({ path: linksDirOf(layout), operation: "reading directory", cause })
    })
    yield* Effect.logDebug(`loaded ${inodes.size} hash inodes`)
    const ctx = {
      realStoreDir: Buffer.from(layout.realStoreDir),
      linksDir,
      inodes,
      stats: emptyStats(),
      log: yield* currentOptimiseLog
    }
    // A chunk at a time: its paths are rooted (one temp-roots write) and checked (one query)
    // together; rooting a path a little before Nix would is as safe.
    for (let i = 0; i < paths.length; i += CHUNK) {
      yield* reportProgress({ activity: "optimising store", done: i, total: paths.length, unit: "paths" })
      const chunk = paths.slice(i, i + CHUNK)
      yield* lock.addTempRoots(chunk)
      const valid = new Set(yield* db.queryValidPaths(chunk)) // others were collected meanwhile
      const reals = chunk.filter((p) => valid.has(p))
      yield* Effect.tryPromise({
        try: async (signal) => {
          for (const p of reals) {
            ctx.log.talkative(`optimising path '${p}'...`)
            const real = toRealPath(layout, p)
            await optimiseTree({ ...ctx, signal }, Buffer.from(real)).catch((e: unknown) => {
              throw e instanceof OptimiseFsError ? e : new OptimiseFsError("optimising", real, e)
            })
          }
        },
        catch: toStoreError(layout.realStoreDir)
      })
    }
    yield* clearProgress
    return ctx.stats
  }).pipe(Effect.withSpan("Store.optimiseStore"))
