/**
 * Deleting specific store paths (`nix-store --delete` without the garbage
 * collector's root analysis).
 *
 * Under the GC lock (exclusive) and the paths' locks: paths that are
 * temporary roots of running processes, or that valid paths outside the set
 * refer to, are refused. The set is invalidated in one transaction
 * (referrers first), then the files are removed (made writable first), so a
 * crash in between never leaves a valid path without files.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { PathInUseError } from "../db/errors.js"
import { toRealPath } from "../schema/StoreLayout.js"
import type { DeleteResult } from "../services/Store.js"
import { makeWritable } from "./canonicalise.js"
import type { StoreParts } from "./context.js"
import { StoreIoError } from "./errors.js"

/** Removes a tree, returning the bytes of the regular files and symlinks removed. */
export const removeCounting = (p: string) =>
  Effect.zipRight(
    makeWritable(p),
    Effect.tryPromise({
      try: async () => {
        let freed = 0
        const walk = async (q: string): Promise<void> => {
          const st = await fs.lstat(q).catch((e: NodeJS.ErrnoException) => {
            if (e.code === "ENOENT") return undefined
            throw e
          })
          if (st === undefined) return
          if (st.isDirectory()) {
            for (const n of await fs.readdir(q)) await walk(path.join(q, n))
            await fs.rmdir(q)
          } else {
            if (st.nlink === 1) freed += st.size
            await fs.unlink(q)
          }
        }
        await walk(p)
        return freed
      },
      catch: (cause) => new StoreIoError({ path: p, operation: "deleting", cause })
    })
  )

/** Deletes `paths` (see the module comment). */
export const deletePaths = (parts: StoreParts, paths: ReadonlyArray<string>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const { db, layout, lock } = parts
      yield* lock.gcLock("exclusive", { waitMessage: "waiting for the big garbage collector lock..." })
      const set = new Set(paths)
      const valid = yield* db.queryValidPaths([...set])
      const temp = yield* lock.readTempRoots()
      for (const p of valid) {
        if (temp.roots.has(p)) {
          return yield* new PathInUseError({ path: p, referrers: [] })
        }
        const referrers = (yield* db.queryReferrers(p)).filter((r) => r !== p && !set.has(r))
        if (referrers.length > 0) return yield* new PathInUseError({ path: p, referrers })
      }
      const locks = yield* lock.lockPaths(valid)
      yield* db.invalidatePaths(valid)
      let bytesFreed = 0
      const deleted: Array<string> = []
      for (const p of [...set].sort()) {
        const real = toRealPath(layout, p)
        const exists = yield* Effect.promise(() => fs.lstat(real).then(() => true, () => false))
        if (!exists && !valid.includes(p)) continue
        yield* Effect.logInfo(`deleting '${p}'`)
        bytesFreed += yield* removeCounting(real)
        deleted.push(p)
      }
      yield* locks.setDeletion(true)
      const result: DeleteResult = { deleted, bytesFreed }
      return result
    })
  ).pipe(Effect.withSpan("Store.deletePaths"))
