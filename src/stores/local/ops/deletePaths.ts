/**
 * Deleting specific store paths (`nix-store --delete` without the garbage
 * collector's root analysis).
 *
 * Under the GC lock (exclusive) and the paths' locks: paths that are
 * temporary roots of running processes are refused; the set is invalidated in
 * one transaction, which refuses it if valid paths outside the set refer to
 * it; then the files are removed (made writable first), so a crash in between
 * never leaves a valid path without files.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { nixInfo } from "../../../core/nixLog.js"
import * as fs from "node:fs"
import { PathIsTempRootError } from "../../../services/errors/store.js"
import { toRealPath } from "../../../core/storeLayout.js"
import type { DeleteResult } from "../../../services/Store.js"
import type { StoreParts } from "./context.js"
import { removeTree } from "./removeTree.js"

/** Deletes `paths` (see the module comment). */
export const deletePaths = (parts: StoreParts, paths: ReadonlyArray<string>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const { db, layout, lock } = parts
      yield* lock.gcLock("exclusive", { waitMessage: "waiting for the big garbage collector lock..." })
      const set = new Set(paths)
      const valid = yield* db.queryValidPaths([...set])
      const temp = yield* lock.readTempRoots()
      const rooted = valid.find((p) => temp.roots.has(p))
      if (rooted !== undefined) return yield* new PathIsTempRootError({ path: rooted })
      const locks = yield* lock.lockPaths(valid)
      // Refuses (PathInUseError, nothing changed) if valid paths outside the set refer to any of them.
      yield* db.invalidatePaths(valid)
      const validSet = new Set(valid)
      let bytesFreed = 0
      const deleted: Array<string> = []
      for (const p of [...set].sort()) {
        const real = toRealPath(layout, p)
        if (!validSet.has(p) && !fs.existsSync(real)) continue
        yield* nixInfo(`deleting '${p}'`)
        bytesFreed += yield* removeTree(real)
        deleted.push(p)
      }
      yield* locks.setDeletion(true)
      const result: DeleteResult = { deleted, bytesFreed }
      return result
    })
  ).pipe(Effect.withSpan("Store.deletePaths"))
