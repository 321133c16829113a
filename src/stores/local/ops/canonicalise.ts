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
import { CanonicaliseError } from "../../../services/errors/store.js"

export { CanonicaliseError } from "../../../services/errors/store.js"

const mtime = new Date(1000)

/** The canonical mode for an entry of the given kind and current mode. */
export const canonicalMode = (kind: "file" | "directory", mode: number): number =>
  kind === "directory" ? 0o555 : (mode & 0o111) !== 0 ? 0o555 : 0o444

/** A resumable walk canonicalising the tree at byte path `root`, children before their directory; throws on I/O errors. */
const canonicaliseWalk = (root: Buffer) =>
  makeTreeWalk(root, {
    node: (p, st) => {
      if (st.isSymbolicLink()) fs.lutimesSync(p, mtime, mtime)
      else if (st.isFile()) {
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

/** Canonicalises the tree at `p` (a real path) in place. */
export const canonicalisePath = (p: string): Effect.Effect<void, CanonicaliseError> =>
  Effect.suspend(() => {
    const walk = canonicaliseWalk(Buffer.from(p))
    return runInSlices(walk, (cause) => new CanonicaliseError({ path: p, cause }))
  })
