/**
 * The file-system side of store optimisation (Nix 2.8's `optimisePath_`),
 * on byte (Buffer) paths so that names which are not valid UTF-8 survive.
 *
 * A regular file or symlink is hashed as its NAR serialisation (sha256, so
 * the execute bit is part of the hash); `STORE/.links/<nix32 hash>` is the
 * shared copy. The first file with a hash becomes that copy (a hard link);
 * later ones are replaced, atomically, by a hard link to it: link the copy to
 * `STORE/.tmp-link-<pid>-<random>`, rename that over the file. The parent
 * directory is made writable meanwhile (unless it is the store directory) and
 * canonicalised afterwards (mode 0555, mtime 1), as Nix does.
 *
 * Inode numbers are JavaScript numbers: one above 2^53 (some overlay file
 * systems) may compare equal to another, which can only make a file look
 * already linked and be left alone, never replace it wrongly (contents are
 * compared through their hash, and a rename only ever installs a link of the
 * same hash).
 *
 * The system calls are synchronous (one libuv round trip per lstat costs more
 * than the call), but the walk gives the event loop a turn every few
 * milliseconds and stops when its AbortSignal fires.
 *
 * Races with a collector (which deletes `.links` entries whose link count is
 * 1) and with other optimisers are retried rather than reported: a link that
 * vanishes between our lstat and our link, or a temporary link deleted before
 * our rename, starts the file over (a few times; then the file stays as it
 * is, unshared). No step can lose a file's contents: the
 * only replacement is a rename of a hard link to identical contents.
 *
 * @since 0.1.0
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import { encodeNix32 } from "../../../core/nix32.js"
import {
  CLOSE_BYTES,
  EXECUTABLE_PREFIX,
  MAGIC_BYTES,
  padLength,
  REGULAR_PREFIX,
  encodeU64,
  symlinkNode
} from "../../../core/nar/encode.js"

/** Nix's `OptimiseStats`: what an optimisation did. */
export interface OptimiseStats {
  /** Files replaced by a hard link. */
  filesLinked: number
  /** Their sizes (`st_size`), summed: what nix-store reports as freed. */
  bytesFreed: number
  /** Their `st_blocks` (512-byte units), summed. */
  blocksFreed: number
}

/** Fresh, zero statistics. */
export const emptyStats = (): OptimiseStats => ({ filesLinked: 0, bytesFreed: 0, blocksFreed: 0 })

/** Messages the walk emits, by Nix's level (the caller routes them to its logger). */
export interface OptimiseLog {
  /** Nix's `warn` (printed as `warning: …`). */
  readonly warn: (message: string) => void
  /** Nix's `printInfo`. */
  readonly info: (message: string) => void
  /** Nix's `printError` without the `error: ` prefix. */
  readonly error: (message: string) => void
  /** Nix's talkative level (`-v`). */
  readonly talkative: (message: string) => void
  /** Nix's debug level. */
  readonly debug: (message: string) => void
}

/** An I/O failure of the walk, in Nix's words (`cannot link 'A' to 'B'`, …). */
export class OptimiseFsError extends Error {
  /** `operation` reads `cannot link 'A' to`, completed by `'path'` in messages. */
  constructor(readonly operation: string, readonly path: string, cause: unknown) {
    super(`${operation} '${path}': ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
}

/** What one walk works with. */
export interface OptimiseContext {
  /** The real store directory (`ROOT/nix/store`). */
  readonly realStoreDir: Buffer
  /** `realStoreDir/.links`. */
  readonly linksDir: Buffer
  /** Inodes known to be in `.links` (Nix's InodeHash). */
  readonly inodes: Set<number>
  readonly stats: OptimiseStats
  readonly log: OptimiseLog
  /** Stops the walk between two files. */
  readonly signal?: AbortSignal | undefined
}

/** Longest stretch of synchronous work before the event loop gets a turn, in ms. */
const SLICE_MS = 8

let sliceStart = Date.now()

/** Gives the event loop a turn when the current slice is used up; throws when aborted. */
const tick = async (signal: AbortSignal | undefined): Promise<void> => {
  if (Date.now() - sliceStart >= SLICE_MS) {
    await new Promise<void>((resolve) => setImmediate(resolve))
    sliceStart = Date.now()
  }
  if (signal?.aborted === true) throw signal.reason ?? new Error("interrupted")
}

/** `dir + "/" + name` on byte paths. */
export const joinBytes = (dir: Uint8Array, name: Uint8Array | string): Buffer =>
  Buffer.concat([dir, Buffer.from("/"), typeof name === "string" ? Buffer.from(name) : name])

/** A byte path as text for messages (invalid UTF-8 shown with replacement characters). */
export const showPath = (p: Uint8Array): string => Buffer.from(p).toString("utf8")

const codeOf = (e: unknown): string | undefined => (e as { code?: string } | undefined)?.code

const lstatOrUndefined = (p: Buffer): fs.Stats | undefined => fs.lstatSync(p, { throwIfNoEntry: false })

/** Bytes read at once while hashing a file. */
const READ_CHUNK = 1 << 20

/**
 * The sha256 of the NAR serialisation of a regular file or symlink (Nix's
 * `hashPath(htSHA256, path)` for a leaf), streamed in chunks. Fails if the
 * file changes size while it is read.
 */
export const hashLeaf = async (p: Buffer, st: fs.Stats | fs.BigIntStats, signal?: AbortSignal): Promise<Uint8Array> => {
  const h = crypto.createHash("sha256")
  h.update(MAGIC_BYTES)
  if (st.isSymbolicLink()) {
    h.update(symlinkNode(fs.readlinkSync(p, { encoding: "buffer" })))
    return new Uint8Array(h.digest())
  }
  const executable = (Number(st.mode) & 0o100) !== 0
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
  try {
    const size = fs.fstatSync(fd).size
    h.update(executable ? EXECUTABLE_PREFIX : REGULAR_PREFIX)
    h.update(encodeU64(size))
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(size, 1)))
    let total = 0
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      h.update(buf.subarray(0, n))
      total += n
      if (total > size) break
      await tick(signal)
    }
    if (total !== size) throw new Error(`file '${showPath(p)}' changed while it was being hashed`)
    h.update(new Uint8Array(padLength(size)))
    h.update(CLOSE_BYTES)
  } finally {
    fs.closeSync(fd)
  }
  return new Uint8Array(h.digest())
}

/** The `.links` name of a leaf: the nix32 form of {@link hashLeaf}. */
export const linkName = async (p: Buffer, st: fs.Stats | fs.BigIntStats, signal?: AbortSignal): Promise<string> =>
  encodeNix32(await hashLeaf(p, st, signal))

/** Nix's `canonicaliseTimestampAndPermissions` (of a directory or file; symlinks keep their mode). */
export const canonicaliseTimestampAndPermissions = (p: Buffer): void => {
  const st = fs.lstatSync(p)
  if (!st.isSymbolicLink()) {
    const mode = st.mode & 0o7777
    if (mode !== 0o444 && mode !== 0o555) fs.chmodSync(p, 0o444 | ((st.mode & 0o100) !== 0 ? 0o111 : 0))
  }
  if (Math.floor(st.mtimeMs / 1000) !== 1) {
    // Nix keeps the access time (whole seconds) and sets the modification time to 1.
    const atime = Math.floor(st.atimeMs / 1000)
    if (st.isSymbolicLink()) fs.lutimesSync(p, atime, 1)
    else fs.utimesSync(p, atime, 1)
  }
}

/** Nix's `makeWritable`: adds the owner's write bit. */
const makeWritable = (p: Buffer): void => {
  const st = fs.lstatSync(p)
  try {
    fs.chmodSync(p, (st.mode & 0o7777) | 0o200)
  } catch (e) {
    throw new OptimiseFsError("changing writability of", showPath(p), e)
  }
}

/** The parent directory of a byte path. */
const dirOf = (p: Buffer): Buffer => {
  const i = p.lastIndexOf(0x2f)
  return i <= 0 ? Buffer.from("/") : p.subarray(0, i)
}

/** How many times one file is started over after losing a race (then it is left unshared). */
const MAX_RETRIES = 16

type LinkOutcome = "done" | "retry"

/** One attempt at linking the leaf `p` (hash `name`) through `.links`. */
const linkLeaf = (ctx: OptimiseContext, p: Buffer, st: fs.Stats, name: string): LinkOutcome => {
  const linkPath = joinBytes(ctx.linksDir, name)
  const shown = showPath(p)
  const linkShown = showPath(linkPath)
  let stLink = lstatOrUndefined(linkPath)
  // Maybe delete the link, if it has been corrupted.
  if (stLink !== undefined && stLink.size !== st.size) {
    ctx.log.warn(`removing corrupted link '${linkShown}'`)
    ctx.log.warn(
      "There may be more corrupted paths.\nYou should run `nix-store --verify --check-contents --repair` to fix them all"
    )
    try {
      fs.unlinkSync(linkPath)
    } catch (e) {
      if (codeOf(e) !== "ENOENT") throw new OptimiseFsError("removing corrupted link", linkShown, e)
    }
    stLink = undefined
  }
  if (stLink === undefined) {
    try {
      // Nope, create a hard link in the links directory.
      fs.linkSync(p, linkPath)
      ctx.inodes.add(st.ino)
      return "done"
    } catch (e) {
      const code = codeOf(e)
      if (code === "ENOSPC") {
        // On ext4 the directory index may be full: deduplication of this file is off, nothing more.
        ctx.log.info(`cannot link '${linkShown}' to '${shown}': ${(e as Error).message}`)
        return "done"
      }
      // EEXIST: another process created it meanwhile; go on with it.
      if (code !== "EEXIST") throw new OptimiseFsError(`cannot link '${linkShown}' to`, shown, e)
    }
  }
  // Yes! We've seen a file with the same contents. Replace the current file with a hard link to it.
  stLink = lstatOrUndefined(linkPath)
  if (stLink === undefined) return "retry" // a collector deleted it meanwhile
  if (st.ino === stLink.ino) {
    ctx.log.debug(`'${shown}' is already linked to '${linkShown}'`)
    return "done"
  }
  ctx.log.talkative(`linking '${shown}' to '${linkShown}'`)
  // Make the containing directory writable, unless it is the store itself.
  const dir = dirOf(p)
  const mustToggle = !dir.equals(ctx.realStoreDir)
  if (mustToggle) makeWritable(dir)
  try {
    const tempLink = joinBytes(ctx.realStoreDir, `.tmp-link-${process.pid}-${crypto.randomInt(0x7fffffff)}`)
    try {
      fs.linkSync(linkPath, tempLink)
    } catch (e) {
      const code = codeOf(e)
      if (code === "EMLINK") {
        // Too many links to the same file (likely an empty one): leave this file alone.
        if (st.size !== 0) ctx.log.info(`'${linkShown}' has maximum number of links`)
        return "done"
      }
      if (code === "ENOENT") return "retry" // the link was deleted after our lstat
      throw new OptimiseFsError(`cannot link '${showPath(tempLink)}' to`, linkShown, e)
    }
    // Atomically replace the old file with the new hard link.
    try {
      fs.renameSync(tempLink, p)
    } catch (e) {
      const code = codeOf(e)
      try {
        fs.unlinkSync(tempLink)
      } catch (u) {
        if (codeOf(u) !== "ENOENT") ctx.log.error(`unable to unlink '${showPath(tempLink)}'`)
      }
      if (code === "EMLINK") {
        ctx.log.debug(`'${linkShown}' has reached maximum number of links`)
        return "done"
      }
      if (code === "ENOENT") return "retry" // a collector took the temporary link as garbage
      throw new OptimiseFsError(`cannot rename '${showPath(tempLink)}' to`, shown, e)
    }
    // rename(2) between two links of one inode does nothing (another optimiser linked the
    // file meanwhile): the temporary link would stay behind. (Usually it is gone: no exception then.)
    if (lstatOrUndefined(tempLink) !== undefined) {
      try {
        fs.unlinkSync(tempLink)
      } catch {
        // gone meanwhile
      }
    }
  } finally {
    // When done, make the directory read-only again and reset its timestamp.
    if (mustToggle) {
      try {
        canonicaliseTimestampAndPermissions(dir)
      } catch {
        // Nix ignores this failure too (ignoreException).
      }
    }
  }
  ctx.stats.filesLinked++
  ctx.stats.bytesFreed += st.size
  ctx.stats.blocksFreed += st.blocks
  return "done"
}

/**
 * Optimises the tree at `p` (a real path, as bytes): every regular file and
 * symlink in it is hard-linked through `.links` (Nix's `optimisePath_`).
 * `child` is true below the top: entries whose inode is already in `.links`
 * are skipped without a look (Nix's `readDirectoryIgnoringInodes`).
 */
export const optimiseTree = async (ctx: OptimiseContext, p: Buffer, child = false): Promise<void> => {
  await tick(ctx.signal)
  const st = fs.lstatSync(p)
  if (child && ctx.inodes.has(st.ino)) {
    ctx.log.debug(`'${showPath(p)}' is already linked`)
    return
  }
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(p, { encoding: "buffer" })) await optimiseTree(ctx, joinBytes(p, name), true)
    return
  }
  // Regular files and symlinks (link(2) links a symlink itself on Linux).
  if (!st.isFile() && !st.isSymbolicLink()) return
  // Files in the store may have been modified by accident: skip the writable ones.
  if (st.isFile() && (st.mode & 0o200) !== 0) {
    ctx.log.warn(`skipping suspicious writable file '${showPath(p)}'`)
    return
  }
  // This can still happen on top-level files.
  if (st.nlink > 1 && ctx.inodes.has(st.ino)) {
    ctx.log.debug(`'${showPath(p)}' is already linked, with ${st.nlink - 2} other file(s)`)
    return
  }
  const name = await linkName(p, st, ctx.signal)
  ctx.log.debug(`'${showPath(p)}' has hash 'sha256:${name}'`)
  for (let attempt = 0; linkLeaf(ctx, p, st, name) === "retry"; attempt++) {
    if (attempt >= MAX_RETRIES) {
      // Someone keeps deleting the link under us: leave this file as it is (unshared, intact).
      ctx.log.debug(`giving up linking '${showPath(p)}': its link keeps disappearing`)
      return
    }
  }
}

/**
 * Nix's `loadInodeHash`: the inodes of the entries of `.links` (Node's
 * readdir gives no inode numbers, so each entry is lstat'ed), `.` and `..`
 * included as readdir(3) gives them to Nix (so "loaded N hash inodes" agrees).
 */
export const loadInodeHash = async (linksDir: Buffer, signal?: AbortSignal): Promise<Set<number>> => {
  const inodes = new Set<number>([fs.statSync(linksDir).ino, fs.statSync(dirOf(linksDir)).ino])
  for (const name of fs.readdirSync(linksDir, { encoding: "buffer" })) {
    await tick(signal)
    const st = lstatOrUndefined(joinBytes(linksDir, name))
    if (st !== undefined) inodes.add(st.ino)
  }
  return inodes
}

/** What the collector's pass over `.links` found. */
export interface UnusedLinksResult {
  /** Entries deleted (link count 1). */
  readonly deleted: number
  /** Nix's figure: (Σ (nlink-1)·size − Σ size − the directory's own blocks) bytes, as a signed number. */
  readonly savedBytes: number
}

/**
 * The collector's last step (Nix 2.8's `collectGarbage`): deletes every
 * `.links` entry with a link count of 1 (no store file uses it) and computes
 * what hard linking saves. A missing `.links` counts as empty.
 */
export const deleteUnusedLinks = async (
  linksDir: Buffer,
  log: OptimiseLog,
  signal?: AbortSignal
): Promise<UnusedLinksResult> => {
  let actualSize = 0
  let unsharedSize = 0
  let deleted = 0
  let names: Array<Buffer>
  try {
    names = fs.readdirSync(linksDir, { encoding: "buffer" })
  } catch (e) {
    if (codeOf(e) === "ENOENT") return { deleted: 0, savedBytes: 0 }
    throw new OptimiseFsError("opening directory", showPath(linksDir), e)
  }
  for (const name of names) {
    await tick(signal)
    const p = joinBytes(linksDir, name)
    const st = lstatOrUndefined(p)
    if (st === undefined) continue
    if (st.nlink !== 1) {
      actualSize += st.size
      unsharedSize += (st.nlink - 1) * st.size
      continue
    }
    log.talkative(`deleting unused link '${showPath(p)}'`)
    try {
      fs.unlinkSync(p)
      deleted++
    } catch (e) {
      if (codeOf(e) !== "ENOENT") throw new OptimiseFsError("deleting", showPath(p), e)
    }
  }
  const overhead = fs.statSync(linksDir).blocks * 512
  return { deleted, savedBytes: unsharedSize - actualSize - overhead }
}
