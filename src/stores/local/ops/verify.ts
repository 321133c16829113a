/**
 * `nix-store --verify [--check-contents]` and `--verify-path`.
 *
 * As Nix 2.8: under the GC lock (shared), every valid path whose files are
 * gone is invalidated — unless a path that stays valid still refers to it,
 * which is reported as an error and left alone. The vanished paths are
 * invalidated in one transaction, referrers before references, an order the
 * foreign keys accept (the original design left that ordering as a FIXME).
 * With `checkContents`, each remaining path's NAR hash is recomputed and
 * compared; an unknown (all-zero) hash or size is filled in.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { nixInfo } from "../../../core/nixLog.js"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import { type Hash, hashEquals, printHashWithAlgo } from "../../../core/hash.js"
import { render as renderContentAddress } from "../../../core/contentAddress.js"
import { nixVanishedOrder } from "./verifyOrder.js"
import { narHashPath } from "../../../io/dump.js"
import { encodeNix32 } from "../../../core/nix32.js"
import { type StoreLayout, toRealPath } from "../../../core/storeLayout.js"
import { clearProgress, reportProgress } from "../../../services/Progress.js"
import type { VerifyOptions, VerifyReport } from "../../../services/Store.js"
import type { PathRegistration } from "../../../services/StoreDb.js"
import type { StoreParts } from "./context.js"
import { HashMismatchError, StoreIoError } from "../../../services/errors/store.js"
import { missingPaths } from "./missingPaths.js"
import { linksDirOf } from "./optimise.js"
import { joinBytes, linkName, showPath } from "./optimiseFs.js"
import { PathNotValidError } from "../../../services/errors/database.js"

import { nixPrintError } from "../../../core/nixLog.js"

/** An all-zero registered hash means "unknown" (old stores): it is filled in, never compared. */
export const isZeroHash = (h: Hash): boolean => h.bytes.every((b) => b === 0)

/** A hash as Nix prints it in messages: `sha256:<nix32>`. */
export const toNix32Form = (h: Hash): string => printHashWithAlgo(h, "nix32")

/** A sha256 NAR digest as a {@link Hash}. */
export const sha256Of = (bytes: Uint8Array): Hash => ({ algo: "sha256", bytes })

/**
 * Verify's "checking link hashes": each `.links` entry must hash (NAR,
 * sha256, nix32) to its own name; the ones that do not are reported with
 * Nix's message and returned (real paths). Entries are read in byte order
 * (Nix: in directory order). A store without `.links` has nothing to check.
 */
const checkLinks = (layout: StoreLayout) =>
  Effect.gen(function*() {
    const dir = Buffer.from(linksDirOf(layout))
    const names = yield* Effect.try({
      try: () => fsSync.readdirSync(dir, { encoding: "buffer" }),
      catch: (cause) => new StoreIoError({ path: linksDirOf(layout), operation: "opening directory", cause })
    }).pipe(Effect.catchIf((e) => (e.cause as { code?: string }).code === "ENOENT", () => Effect.succeed([])))
    const bad: Array<string> = []
    let checked = 0
    for (const name of names) {
      yield* reportProgress({ activity: "checking link hashes", done: checked++, total: names.length, unit: "links" })
      const shownName = showPath(name)
      yield* Effect.logDebug(`checking contents of '${shownName}'`)
      const linkPath = joinBytes(dir, name)
      const r = yield* Effect.either(Effect.tryPromise({
        try: async (signal) => {
          const st = fsSync.lstatSync(linkPath, { bigint: true })
          if (st.isFile() || st.isSymbolicLink()) return linkName(linkPath, st, signal)
          // Not a leaf (nothing Nix or tsnix puts there): its whole NAR.
          return Effect.runPromise(Effect.map(narHashPath(showPath(linkPath)), (h) => encodeNix32(h.narHash)))
        },
        catch: (cause) => new StoreIoError({ path: showPath(linkPath), operation: "hashing", cause })
      }))
      if (r._tag === "Left") {
        yield* nixPrintError(r.left.message)
        bad.push(showPath(linkPath))
      } else if (r.right !== shownName) {
        yield* nixPrintError(
          `link '${showPath(linkPath)}' was modified! expected hash '${shownName}', got '${r.right}'`
        )
        bad.push(showPath(linkPath))
      }
    }
    return bad
  })

/** Paths whose infos are read at once by `--verify --check-contents`. */
const VERIFY_PAGE = 1000

/** Verifies the store; returns what it found (and fixed). */
export const verifyStore = (parts: StoreParts, options: VerifyOptions) =>
  Effect.scoped(
    Effect.gen(function*() {
      const { db, layout, lock } = parts
      yield* nixInfo("reading the Nix store...")
      yield* lock.gcLock("shared", { waitMessage: "waiting for the big garbage collector lock..." })
      // The directory is read on libuv's thread pool while the database is read here: both at once.
      const [entries, all] = yield* Effect.all([
        Effect.tryPromise({
          try: () => fs.readdir(layout.realStoreDir),
          catch: (cause) => new StoreIoError({ path: layout.realStoreDir, operation: "reading directory", cause })
        }),
        db.queryAllValidPaths
      ], { concurrency: 2 })
      yield* nixInfo("checking path existence...")
      const repaired: Array<string> = []
      const vanished = missingPaths(all, layout.storeDir.length + 1, entries)
      const vanishedSet = new Set(vanished)
      // A vanished path stays valid (an error) if a present path refers to it, directly or
      // through other vanished paths: i.e. if it is in the closure of the present paths among
      // its referrers. Two bulk queries, whatever the number of vanished paths.
      const blocked = new Set<string>()
      if (vanished.length > 0) {
        const referrers = yield* db.computeClosure(vanished, { direction: "referrers" })
        const present = referrers.filter((p) => !vanishedSet.has(p))
        if (present.length > 0) {
          for (const p of yield* db.computeClosure(present)) if (vanishedSet.has(p)) blocked.add(p)
        }
      }
      const invalidated = vanished.filter((p) => !blocked.has(p))
      const missingWithReferrers = vanished.filter((p) => blocked.has(p))
      // Reported in Nix's order (a vanished path after its vanished referrers).
      if (vanished.length > 0) {
        const refs = new Map<string, ReadonlyArray<string>>(
          (yield* db.queryPathInfos(vanished)).map((i) => [i.path, i.references])
        )
        for (const p of nixVanishedOrder(vanished, (q) => refs.get(q) ?? [])) {
          yield* blocked.has(p)
            ? nixPrintError(`path '${p}' disappeared, but it still has valid referrers!`)
            : nixInfo(`path '${p}' disappeared, removing from database...`)
          if (blocked.has(p) && options.repair !== undefined && (yield* options.repair(p))) repaired.push(p)
        }
      }
      if (invalidated.length > 0) yield* db.invalidatePaths(invalidated)
      const modified: Array<string> = []
      const modifiedLinks: Array<string> = []
      if (options.checkContents) {
        yield* nixInfo("checking link hashes...")
        modifiedLinks.push(...(yield* checkLinks(layout)))
        yield* nixInfo("checking store hashes...")
        // The paths still valid, in order, with their infos read a page at a time: holding all
        // 100k infos at once made V8 let the heap grow to ~3x that (peak RSS 740 MB) between GCs.
        // (Vanished paths are either invalidated now or blocked: neither is checked.)
        const toCheck = all.filter((p) => !vanishedSet.has(p))
        let checked = 0
        for (let page = 0; page < toCheck.length; page += VERIFY_PAGE) {
          const infos = yield* db.queryPathInfos(toCheck.slice(page, page + VERIFY_PAGE))
          // Missing hashes and sizes (a store upgraded from schema 5 or 6 has no sizes) are written a
          // page at a time, in one transaction: one per path made the first verify after such an
          // upgrade several times slower than on a fresh store (bench/upgrade-verify.mjs).
          const fixes: Array<PathRegistration> = []
          for (const info of infos) {
            yield* reportProgress({
              activity: "checking store hashes",
              done: checked++,
              total: toCheck.length,
              unit: "paths"
            })
            yield* Effect.logDebug(`checking contents of '${info.path}'`)
            const r = yield* narHashPath(toRealPath(layout, info.path)).pipe(Effect.either)
            if (r._tag === "Left") {
              yield* nixPrintError(r.left.message)
              modified.push(info.path)
              continue
            }
            const actual = sha256Of(r.right.narHash)
            const zero = isZeroHash(info.narHash)
            if (!zero && !hashEquals(info.narHash, actual)) {
              yield* nixPrintError(
                `path '${info.path}' was modified! expected hash '${toNix32Form(info.narHash)}', got '${
                  toNix32Form(actual)
                }'`
              )
              modified.push(info.path)
              if (options.repair !== undefined && (yield* options.repair(info.path))) repaired.push(info.path)
            } else if (zero || info.narSize === 0) {
              if (zero) yield* nixInfo(`fixing missing hash on '${info.path}'`)
              if (info.narSize === 0) yield* nixInfo(`updating size field on '${info.path}' to ${r.right.narSize}`)
              fixes.push({
                path: info.path,
                narHash: printHashWithAlgo(actual, "base16"),
                narSize: r.right.narSize,
                references: info.references,
                deriver: Option.getOrUndefined(info.deriver),
                registrationTime: info.registrationTime,
                ultimate: info.ultimate,
                sigs: info.sigs,
                ca: Option.getOrUndefined(Option.map(info.ca, renderContentAddress))
              })
            }
          }
          if (fixes.length > 0) {
            yield* db.registerValidPaths(fixes).pipe(
              // The same references again: no new edge, so no new cycle (an old one is reported below).
              Effect.catchTag("ReferenceCycleError", (e) => Effect.die(e))
            )
          }
        }
      }
      // A cycle cannot be registered, but an older tsnix (or a hand-edited database) may have left one.
      // Looked for on ids first (cheap); only a store that has one sorts its paths to name it.
      const cycle = !(yield* db.hasReferenceCycle) ? undefined : yield* db.queryAllValidPaths.pipe(
        Effect.flatMap(db.topoSortPaths),
        Effect.as(undefined),
        Effect.catchTag("ReferenceCycleError", (e) => Effect.succeed(e)),
        Effect.catchTag("PathNotValidError", () => Effect.succeed(undefined)) // a concurrent delete
      )
      if (cycle !== undefined) yield* nixPrintError(cycle.message)
      yield* clearProgress
      const repairedSet = new Set(repaired)
      const report: VerifyReport = {
        errors: missingWithReferrers.some((p) => !repairedSet.has(p)) || modified.some((p) => !repairedSet.has(p)) ||
          modifiedLinks.length > 0 || cycle !== undefined,
        invalidated,
        missingWithReferrers,
        modified,
        modifiedLinks,
        ...(options.repair === undefined ? {} : { repaired }),
        ...(cycle === undefined ? {} : { referenceCycle: { path: cycle.path, parent: cycle.parent } })
      }
      return report
    })
  ).pipe(Effect.withSpan("Store.verifyStore"))

/** Recomputes one valid path's NAR hash and fails if it differs from the registered one. */
export const verifyPath = (parts: StoreParts, p: string) =>
  Effect.gen(function*() {
    const info = yield* Effect.flatMap(
      parts.db.queryPathInfo(p),
      Option.match({
        onNone: () => Effect.fail(new PathNotValidError({ path: p })),
        onSome: Effect.succeed
      })
    )
    yield* Effect.logDebug(`checking path '${p}'...`)
    const r = yield* narHashPath(toRealPath(parts.layout, p))
    const actual = sha256Of(r.narHash)
    if (!hashEquals(actual, info.narHash)) {
      return yield* new HashMismatchError({ path: p, expected: toNix32Form(info.narHash), actual: toNix32Form(actual) })
    }
  }).pipe(Effect.withSpan("Store.verifyPath", { attributes: { path: p } }))
