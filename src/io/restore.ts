/**
 * Restoring a NAR into the file system, streaming and all-or-nothing.
 *
 * The target must not exist. Everything is created with exclusive flags
 * (`O_CREAT|O_EXCL|O_NOFOLLOW` files, `mkdir`, `symlink`, all failing on an
 * existing path), only inside directories this restore created, so nothing
 * can be written through a symlink. Files are written chunk by chunk as the
 * archive streams in. On any error or interruption whatever was created is
 * removed, so nothing remains at the target. The NAR's sha256 and size are
 * computed in the same pass. Between two archive events the event loop gets
 * a turn once the time slice is used up (parse.ts, eventLoop.ts), and large
 * writes go through the thread pool: a write the kernel throttles (dirty
 * page write-back) must not stop the event loop.
 *
 * @since 0.1.0
 */
import { Effect, Exit, type Stream } from "effect"
import * as fs from "node:fs"
import { NarRestoreFsError, type NarParseError } from "../core/nar/ioErrors.js"
import * as fsOps from "./fsOps.js"
import type { NarHashResult } from "./hash.js"
import { type NarEntryEvent, parseNarFrom, parseNarStream, type ParseOptions } from "./parse.js"
import type { ByteSource } from "./source.js"

const CREATE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0)

interface RestoreState {
  readonly target: Buffer
  created: boolean
  fd: number | undefined
  readonly dirs: Array<Buffer>
  /** Entries created (directories, regular files, symlinks). */
  entries: number
  /** Bytes of regular-file contents written. */
  bytes: number
}

/**
 * What a restore created: its entries (directories, regular files, symlinks)
 * and the bytes of file contents. Compared with a later walk of the tree, it
 * tells whether anything was removed meanwhile.
 */
export interface RestoreTally {
  readonly entries: number
  readonly bytes: number
}

/** The NAR's hash and size, and what the restore created. */
export type RestoreResult = NarHashResult & RestoreTally

const fsFail = (path: Buffer, detail: string, cause: unknown, isRoot: boolean): NarRestoreFsError => {
  const code = (cause as { code?: unknown } | undefined)?.code
  return isRoot && code === "EEXIST"
    ? new NarRestoreFsError({ kind: "TargetExists", path: path.toString(), detail: "path already exists" })
    : new NarRestoreFsError({ kind: "Io", path: path.toString(), detail, cause })
}

/** Contents chunks from this size on are written through the thread pool (see the module comment). */
const ASYNC_WRITE_MIN = 64 * 1024

/** Writes all of `buf` at the current position of `fd`, through the thread pool. */
const writeAllAsync = (fd: number, buf: Uint8Array): Promise<void> =>
  new Promise((resolve, reject) => {
    const go = (off: number): void => {
      if (off >= buf.length) return resolve()
      fs.write(fd, buf, off, buf.length - off, null, (e, n) => (e ? reject(e) : go(off + n)))
    }
    go(0)
  })

/** Writes all of `buf` at the current position of `fd`. */
const writeAllSync = (fd: number, buf: Uint8Array): void => {
  for (let off = 0; off < buf.length;) off += fs.writeSync(fd, buf, off, buf.length - off)
}

const entryPath = (st: RestoreState, name: Uint8Array | undefined): Buffer => {
  const parent = st.dirs[st.dirs.length - 1]
  if (name === undefined || parent === undefined) return st.target
  return fsOps.joinBytes(parent, name)
}

/**
 * Handles one archive event: `undefined` when its work is done, else the
 * effect that does it (a large write) or fails. The file-system calls are
 * synchronous on purpose: they cannot be interrupted half-way (so cleanup
 * never races an in-flight create or write), and from the page cache they
 * cost microseconds where a thread-pool round trip per file costs far more on
 * a loaded machine. No effect and no closure is made for a call that
 * succeeded (see NarEventHandler): with 200k entries that was visible.
 */
const handleEvent = (st: RestoreState) => (ev: NarEntryEvent): Effect.Effect<void, NarRestoreFsError> | undefined => {
  let path = st.target
  let detail = ""
  let isRoot = false
  try {
    switch (ev._tag) {
      case "Directory": {
        path = entryPath(st, ev.name)
        isRoot = ev.name === undefined
        detail = "creating directory"
        fs.mkdirSync(path, 0o777)
        if (isRoot) st.created = true
        st.dirs.push(path)
        st.entries++
        return undefined
      }
      case "DirectoryEnd":
        st.dirs.pop()
        return undefined
      case "Regular": {
        path = entryPath(st, ev.name)
        isRoot = ev.name === undefined
        detail = "creating file"
        const fd = fs.openSync(path, CREATE_FLAGS, 0o666)
        st.fd = fd
        if (isRoot) st.created = true
        st.entries++
        // As Nix: created 0666 minus the umask, then the execute bits added for everyone
        // (0755 under umask 022; 0711 under 077, where 0777 minus the umask would give 0700).
        if (ev.executable) fs.fchmodSync(fd, (fs.fstatSync(fd).mode & 0o7777) | 0o111)
        return undefined
      }
      case "Contents": {
        const fd = st.fd
        if (fd === undefined) return Effect.dieMessage("NAR restore: contents outside a regular file")
        st.bytes += ev.chunk.length
        detail = "writing file"
        if (ev.chunk.length < ASYNC_WRITE_MIN) {
          writeAllSync(fd, ev.chunk)
          return undefined
        }
        // Uninterruptible: the cleanup must not close the descriptor under a write in flight.
        return Effect.uninterruptible(Effect.tryPromise({
          try: () => writeAllAsync(fd, ev.chunk),
          catch: (cause) => fsFail(st.target, "writing file", cause, false)
        }))
      }
      case "RegularEnd": {
        const fd = st.fd
        if (fd === undefined) return undefined
        detail = "closing file"
        st.fd = undefined
        fs.closeSync(fd)
        return undefined
      }
      case "Symlink": {
        path = entryPath(st, ev.name)
        isRoot = ev.name === undefined
        detail = "creating symlink"
        fs.symlinkSync(Buffer.from(ev.target.buffer, ev.target.byteOffset, ev.target.byteLength), path)
        if (isRoot) st.created = true
        st.entries++
        return undefined
      }
    }
  } catch (cause) {
    return Effect.fail(fsFail(path, detail, cause, isRoot))
  }
}

const cleanup = (st: RestoreState): Effect.Effect<void> =>
  Effect.promise(async () => {
    if (st.fd !== undefined) {
      await fsOps.close(st.fd).catch(() => undefined)
      st.fd = undefined
    }
    if (st.created) await fsOps.rmTree(st.target).catch(() => undefined)
  })

const restoreWith = <E, R>(
  target: string,
  run: (
    handle: (ev: NarEntryEvent) => Effect.Effect<void, NarRestoreFsError> | undefined
  ) => Effect.Effect<NarHashResult, E, R>
): Effect.Effect<RestoreResult, E, R> =>
  Effect.suspend(() => {
    const st: RestoreState = {
      target: Buffer.from(target),
      created: false,
      fd: undefined,
      dirs: [],
      entries: 0,
      bytes: 0
    }
    return run(handleEvent(st)).pipe(
      Effect.map((r): RestoreResult => ({
        narHash: r.narHash,
        narSize: r.narSize,
        entries: st.entries,
        bytes: st.bytes
      })),
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : cleanup(st)))
    )
  })

/**
 * Restores the NAR in `nar` at `target` (which must not exist). Bytes after
 * the archive are an error. Returns the NAR's sha256 (unless `options.hash`
 * is false) and size, and what was created ({@link RestoreTally}).
 */
export const restorePath = <E, R>(
  target: string,
  nar: Stream.Stream<Uint8Array, E, R>,
  options: ParseOptions = {}
): Effect.Effect<RestoreResult, NarParseError | NarRestoreFsError | E, R> =>
  restoreWith(target, (handle) => parseNarStream(nar, handle, options)).pipe(
    Effect.withSpan("nar.restorePath", { attributes: { target } })
  )

/**
 * Restores exactly one NAR read from `source` at `target`, leaving the bytes
 * that follow the archive in `source` (for `nix-store --export` streams).
 * After a failure the source's position is unspecified.
 */
export const restoreFromSource = <E>(
  target: string,
  source: ByteSource<E>
): Effect.Effect<RestoreResult, NarParseError | NarRestoreFsError | E> =>
  restoreWith(target, (handle) => parseNarFrom(source, handle)).pipe(
    Effect.withSpan("nar.restoreFromSource", { attributes: { target } })
  )
