/**
 * Canonicalising the metadata of a store object before it becomes visible.
 *
 * As Nix does: modification time 1 (the epoch plus one second) on every
 * entry, symlinks included; regular files mode 0444, or 0555 when any execute
 * bit was set; directories 0555; no setuid, setgid or sticky bits and no
 * write bits anywhere. Directories are made read-only after their children.
 * Names are bytes (they need not be valid UTF-8). The system calls are
 * synchronous, as in the restore before it (one thread-pool round trip per
 * file would cost more than the calls), but the walk runs in slices of a few
 * milliseconds with a turn of the event loop between them.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import { runInSlices } from "../../../io/eventLoop.js"
import { displayPath, makeTreeWalk } from "../../../io/fsOps.js"
import { CanonicaliseError, TemporaryChangedError } from "../../../services/errors/store.js"

export { CanonicaliseError, TemporaryChangedError } from "../../../services/errors/store.js"

const mtime = new Date(1000)

/** The canonical mode for an entry of the given kind and current mode. */
export const canonicalMode = (kind: "file" | "directory", mode: number): number =>
  kind === "directory" ? 0o555 : (mode & 0o111) !== 0 ? 0o555 : 0o444

/** What a canonicalising walk found: entries (directories, files, symlinks) and bytes of regular files. */
export interface TreeTally {
  readonly entries: number
  readonly bytes: number
}

/** A resumable walk canonicalising the tree at byte path `root`, children before their directory; throws on I/O errors. */
const canonicaliseWalk = (root: Buffer, tally: { entries: number; bytes: number }) =>
  makeTreeWalk(root, {
    node: (p, st) => {
      tally.entries++
      if (st.isSymbolicLink()) fs.lutimesSync(p, mtime, mtime)
      else if (st.isFile()) {
        tally.bytes += st.size
        const mode = canonicalMode("file", st.mode)
        if ((st.mode & 0o7777) !== mode) fs.chmodSync(p, mode)
        fs.utimesSync(p, mtime, mtime)
      } else if (!st.isDirectory()) throw new Error(`file '${displayPath(p)}' has an unsupported type`)
    },
    leaveDirectory: (p) => {
      fs.chmodSync(p, 0o555)
      fs.utimesSync(p, mtime, mtime)
    }
  })

/** Canonicalises the tree at `p` (a real path) in place; returns what it walked over. */
export const canonicalisePath = (p: string): Effect.Effect<TreeTally, CanonicaliseError> =>
  Effect.suspend(() => {
    const tally = { entries: 0, bytes: 0 }
    const walk = canonicaliseWalk(Buffer.from(p), tally)
    return runInSlices(walk, (cause) => new CanonicaliseError({ path: p, cause })).pipe(Effect.as(tally))
  })

/**
 * Canonicalises the temporary copy `temp` and checks that it still holds what
 * was written into it (`written`: the entries and bytes created): if anything
 * was removed meanwhile (a collector that did not honour its temporary root),
 * fails with a {@link CanonicaliseError} caused by a
 * {@link TemporaryChangedError} rather than let a copy that differs from what
 * was hashed be registered.
 */
export const canonicaliseChecked = (
  temp: string,
  written: TreeTally
): Effect.Effect<void, CanonicaliseError> =>
  Effect.flatMap(
    canonicalisePath(temp),
    (found) =>
      found.entries === written.entries && found.bytes === written.bytes
        ? Effect.void
        : Effect.fail(
          new CanonicaliseError({ path: temp, cause: new TemporaryChangedError({ path: temp, written, found }) })
        )
  )
