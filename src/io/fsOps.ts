/**
 * Small file-system helpers on byte (Buffer) paths, shared by the NAR dumper
 * and restorer and by the store's tree operations (canonicalising, removing,
 * optimising). Byte paths keep names that are not valid UTF-8 intact: Nix
 * treats file names as bytes, and a name decoded to a string and encoded
 * back is a different name (every invalid byte becomes U+FFFD).
 *
 * @since 0.1.0
 */
import { isUtf8 as nodeIsUtf8 } from "node:buffer"
import * as fs from "node:fs"
import * as path from "node:path"

/** `close(2)`, as a promise. */
export const close = (fd: number): Promise<void> => new Promise((res, rej) => fs.close(fd, (e) => (e ? rej(e) : res())))

/** Removes a path recursively without following symlinks; a missing path is fine. */
export const rmTree = (p: Buffer): Promise<void> =>
  new Promise((res, rej) => fs.rm(p, { recursive: true, force: true, maxRetries: 2 }, (e) => (e ? rej(e) : res())))

/** `dir + "/" + name` on byte paths. */
export const joinBytes = (dir: Buffer, name: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(dir.length + 1 + name.length)
  dir.copy(out, 0)
  out[dir.length] = 0x2f
  out.set(name, dir.length + 1)
  return out
}

/** Byte path `p` as latin1 (one character per byte, "/" and "." unchanged), for path arithmetic. */
const latin1 = (p: Uint8Array): string => pathBytes(p).toString("latin1")

/** The directory part of byte path `p` (as `path.dirname`). */
export const dirnameBytes = (p: Uint8Array): Buffer => Buffer.from(path.posix.dirname(latin1(p)), "latin1")

/**
 * Byte path `target` resolved against directory `dir` (as `path.resolve`:
 * lexically, "." and ".." removed, as Nix's `absPath`). `dir` should be
 * absolute (otherwise the current directory, as a string, comes in).
 */
export const resolveBytes = (dir: Uint8Array, target: Uint8Array): Buffer =>
  Buffer.from(path.posix.resolve(latin1(dir), latin1(target)), "latin1")

/** A path as bytes: a string is encoded as UTF-8, a Buffer is taken as it is. */
export const pathBytes = (p: string | Uint8Array): Buffer =>
  typeof p === "string" ? Buffer.from(p) : Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength)

/**
 * A byte path or name for messages: its UTF-8 decoding (bytes that are not
 * valid UTF-8 show as U+FFFD). Never use the result to reach the file.
 */
export const displayPath = (p: Uint8Array): string => pathBytes(p).toString("utf8")

/** Whether a byte string is valid UTF-8 (decoding it as a string loses nothing). */
export const isUtf8 = (b: Uint8Array): boolean => nodeIsUtf8(b)

/** The entry names of directory `dir`, as bytes, sorted in byte order (the order of a NAR). */
export const readDirBytesSync = (dir: Buffer): Array<Buffer> => {
  const names = fs.readdirSync(dir, { encoding: "buffer" })
  names.sort(Buffer.compare)
  return names
}

/** What {@link walkTreeSync} calls for each node of a tree. */
export interface TreeVisitor {
  /**
   * Called for every node (lstat'd: symlinks are not followed), parents
   * before children. For a directory it is called before its entries are
   * read (so it may make the directory readable first); returning false
   * skips its entries (and its `leaveDirectory`).
   */
  readonly node: (path: Buffer, st: fs.Stats) => boolean | void
  /** Called for a directory after all its entries. */
  readonly leaveDirectory?: (path: Buffer, st: fs.Stats) => void
}

interface WalkFrame {
  readonly path: Buffer
  readonly st: fs.Stats
  readonly names: ReadonlyArray<Buffer>
  index: number
}

/**
 * A walk of the tree at `root` that can stop and go on (for `runInSlices`
 * in eventLoop.ts): each call to the returned step walks
 * on until the tree is done (true) or `due()` answers true after a node
 * (false; call it again to go on: every call visits at least one node). Same order and visits as
 * {@link walkTreeSync}. The fs errors it meets are thrown as they are.
 */
export const makeTreeWalk = (
  root: Buffer,
  visitor: TreeVisitor,
  rootStat?: fs.Stats
): (due: () => boolean) => boolean => {
  const stack: Array<WalkFrame> = []
  const enter = (p: Buffer, st: fs.Stats): void => {
    if (visitor.node(p, st) === false || !st.isDirectory()) return
    stack.push({ path: p, st, names: readDirBytesSync(p), index: 0 })
  }
  let started = false
  return (due) => {
    if (!started) {
      started = true
      enter(root, rootStat ?? fs.lstatSync(root))
    }
    // At least one node per call, so that the walk always gets on.
    for (;;) {
      const top = stack[stack.length - 1]
      if (top === undefined) return true
      const name = top.names[top.index++]
      if (name === undefined) {
        stack.pop()
        visitor.leaveDirectory?.(top.path, top.st)
      } else {
        const child = joinBytes(top.path, name)
        enter(child, fs.lstatSync(child))
      }
      if (stack.length > 0 && due()) return false
    }
  }
}

const never = (): boolean => false

/**
 * Walks the tree at `root` (a byte path), depth first, directory entries in
 * byte order, names kept as bytes. It uses an explicit stack, so any depth
 * is fine. `rootStat` saves the first lstat when the caller has it already.
 * The fs errors it meets are thrown as they are.
 */
export const walkTreeSync = (root: Buffer, visitor: TreeVisitor, rootStat: fs.Stats = fs.lstatSync(root)): void => {
  makeTreeWalk(root, visitor, rootStat)(never)
}
