/**
 * Removing a tree under the store: directories are made writable before they
 * are read (store objects are read-only), and the bytes freed are counted as
 * Nix 2.8 counts them: the size of every regular file and symlink with a
 * single link. Synchronous on purpose: with many small paths, one libuv
 * thread-pool round trip per lstat/unlink costs more than the system calls.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { StoreIoError } from "./errors.js"

/** Removes the tree at `p` (a missing `p` is fine) and returns the bytes freed; throws on I/O errors. */
export const removeTreeSync = (p: string): number => {
  const st = fs.lstatSync(p, { throwIfNoEntry: false })
  if (st === undefined) return 0
  if (!st.isDirectory()) {
    const freed = st.nlink === 1 ? st.size : 0
    fs.unlinkSync(p)
    return freed
  }
  // Store trees are shallow: recursion depth is the tree's depth.
  if ((st.mode & 0o700) !== 0o700) fs.chmodSync(p, 0o755)
  let freed = 0
  for (const name of fs.readdirSync(p)) freed += removeTreeSync(path.join(p, name))
  fs.rmdirSync(p)
  return freed
}

/** {@link removeTreeSync} as an effect: the bytes freed, or a {@link StoreIoError}. */
export const removeTree = (p: string): Effect.Effect<number, StoreIoError> =>
  Effect.try({
    try: () => removeTreeSync(p),
    catch: (cause) => new StoreIoError({ path: p, operation: "deleting", cause })
  })
