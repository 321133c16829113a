/**
 * Removing a tree under the store: directories are made writable before they
 * are read (store objects are read-only), and the bytes freed are counted as
 * Nix 2.8 counts them: the size of every regular file and symlink with a
 * single link. Names are handled as bytes (a name that is not valid UTF-8 is
 * removed like any other). The system calls are synchronous on purpose: with
 * many small paths, one libuv thread-pool round trip per lstat/unlink costs
 * more than the calls. The effect ({@link removeTree}) runs the walk in
 * slices of a few milliseconds with a turn of the event loop between them.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import { runInSlices } from "../../../io/eventLoop.js"
import { displayPath, makeTreeWalk, pathBytes } from "../../../io/fsOps.js"
import { StoreIoError } from "../../../services/errors/store.js"

/** How many times a removal starts its walk again after an entry vanished under it. */
const maxRestarts = 1000

const vanished = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === "ENOENT"

/**
 * A resumable removal of the tree at `p` (see makeTreeWalk): `step(due)`
 * returns true once the tree is gone; `freed()` is the bytes freed so far.
 * A missing `p` is fine; so is an entry that vanishes under the walk (someone
 * else removing the same tree: as Nix's `deletePath`, ENOENT is not an error;
 * the walk starts again on what is left). Other I/O errors are thrown.
 */
const removalWalk = (
  p: string | Uint8Array
): { readonly step: (due: () => boolean) => boolean; readonly freed: () => number } => {
  const root = pathBytes(p)
  let freed = 0
  let restarts = 0
  let walk: ((due: () => boolean) => boolean) | undefined
  const step = (due: () => boolean): boolean => {
    if (walk === undefined) {
      const st = fs.lstatSync(root, { throwIfNoEntry: false })
      if (st === undefined) return true
      walk = makeTreeWalk(root, {
        node: (q, s) => {
          if (s.isDirectory()) {
            if ((s.mode & 0o700) !== 0o700) fs.chmodSync(q, 0o755)
            return
          }
          if (s.nlink === 1) freed += s.size
          fs.unlinkSync(q)
        },
        leaveDirectory: (q) => fs.rmdirSync(q)
      }, st)
    }
    try {
      return walk(due)
    } catch (e) {
      if (!vanished(e) || restarts++ >= maxRestarts) throw e
      walk = undefined
      return false
    }
  }
  return { step, freed: () => freed }
}

/** Removes the tree at `p` (a missing `p` is fine) and returns the bytes freed; throws on I/O errors. */
export const removeTreeSync = (p: string | Uint8Array): number => {
  const r = removalWalk(p)
  while (!r.step(() => false));
  return r.freed()
}

/**
 * {@link removeTreeSync} as an effect, in slices that let the event loop run:
 * the bytes freed, or a {@link StoreIoError}. Uninterruptible, as the
 * synchronous removal was: an interruption takes effect after the tree is gone.
 */
export const removeTree = (p: string | Uint8Array): Effect.Effect<number, StoreIoError> =>
  Effect.uninterruptible(Effect.suspend(() => {
    const r = removalWalk(p)
    return runInSlices(
      r.step,
      (cause) => new StoreIoError({ path: typeof p === "string" ? p : displayPath(p), operation: "deleting", cause })
    )
      .pipe(Effect.map(r.freed))
  }))
