/**
 * Removing a tree under the store: directories are made writable before they
 * are read (store objects are read-only), and the bytes freed are counted as
 * Nix 2.8 counts them: the size of every regular file and symlink with a
 * single link. Names are handled as bytes (a name that is not valid UTF-8 is
 * removed like any other). Synchronous on purpose: with many small paths, one
 * libuv thread-pool round trip per lstat/unlink costs more than the system
 * calls.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import { pathBytes, walkTreeSync } from "../../../io/fsOps.js"
import { StoreIoError } from "../../../services/errors/store.js"

/** Removes the tree at `p` (a missing `p` is fine) and returns the bytes freed; throws on I/O errors. */
export const removeTreeSync = (p: string | Uint8Array): number => {
  const root = pathBytes(p)
  const st = fs.lstatSync(root, { throwIfNoEntry: false })
  if (st === undefined) return 0
  let freed = 0
  walkTreeSync(root, {
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
  return freed
}

/** {@link removeTreeSync} as an effect: the bytes freed, or a {@link StoreIoError}. */
export const removeTree = (p: string): Effect.Effect<number, StoreIoError> =>
  Effect.try({
    try: () => removeTreeSync(p),
    catch: (cause) => new StoreIoError({ path: p, operation: "deleting", cause })
  })
