/**
 * Canonicalising the metadata of a store object before it becomes visible.
 *
 * As Nix does: modification time 1 (the epoch plus one second) on every
 * entry, symlinks included; regular files mode 0444, or 0555 when any execute
 * bit was set; directories 0555; no setuid, setgid or sticky bits and no
 * write bits anywhere. Directories are made read-only after their children.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"

/** Changing the metadata of a file under the store failed. */
export class CanonicaliseError extends Data.TaggedError("CanonicaliseError")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message() {
    return `canonicalising '${this.path}': ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

const mtime = new Date(1000)

/** The canonical mode for an entry of the given kind and current mode. */
export const canonicalMode = (kind: "file" | "directory", mode: number): number =>
  kind === "directory" ? 0o555 : (mode & 0o111) !== 0 ? 0o555 : 0o444

const canonicaliseOne = async (p: string): Promise<void> => {
  const st = await fs.lstat(p)
  if (st.isSymbolicLink()) {
    await fs.lutimes(p, mtime, mtime)
    return
  }
  if (st.isDirectory()) {
    const names = await fs.readdir(p)
    for (const n of names) await canonicaliseOne(path.join(p, n))
    await fs.chmod(p, 0o555)
    await fs.utimes(p, mtime, mtime)
    return
  }
  if (st.isFile()) {
    const mode = canonicalMode("file", st.mode)
    if ((st.mode & 0o7777) !== mode) await fs.chmod(p, mode)
    await fs.utimes(p, mtime, mtime)
    return
  }
  throw new Error(`file '${p}' has an unsupported type`)
}

/** Canonicalises the tree at `p` (a real path) in place. */
export const canonicalisePath = (p: string): Effect.Effect<void, CanonicaliseError> =>
  Effect.tryPromise({ try: () => canonicaliseOne(p), catch: (cause) => new CanonicaliseError({ path: p, cause }) })
