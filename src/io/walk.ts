/**
 * The NAR serialiser's walk of a file tree, as a generator of byte chunks.
 *
 * The tree is walked with `lstat` (symlinks are stored, never followed);
 * directory entries are sorted by name bytes. Headers and small files are
 * batched into ~256 KiB output chunks; large files are read in 1 MiB chunks,
 * so memory stays flat whatever the file sizes. A batch is also handed out
 * early once the walk has spent a few milliseconds on it (a tree of tiny
 * files), so a consumer on the main thread can give the event loop a turn.
 *
 * This module has no Effect import: it also runs in the dump worker
 * (dumpWorker.ts), which must start fast. Failures are {@link DumpFailure}s,
 * which the Effect API turns into NarDumpError.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { performance } from "node:perf_hooks"
import {
  CLOSE_BYTES,
  DIRECTORY_PREFIX,
  MAGIC_BYTES,
  entryHeader,
  symlinkNode,
  writeRegularHeader,
  writeRegularTrailer
} from "../core/nar/encode.js"
import { joinBytes } from "./fsOps.js"

/** Why a walk failed (the kinds of NarDumpError). */
export type DumpFailureKind = "UnsupportedFileType" | "FileChanged" | "Io"

/** A walk failed: what, where, and the underlying error if any (the data of a NarDumpError). */
export class DumpFailure extends Error {
  constructor(
    readonly kind: DumpFailureKind,
    readonly path: string,
    readonly detail: string,
    cause?: unknown
  ) {
    super(
      `dumping '${path}': ${detail}${
        cause === undefined ? "" : `: ${cause instanceof Error ? cause.message : String(cause)}`
      }`,
      { cause }
    )
  }
}

/** Target size of batched output chunks (headers and small files). */
const BATCH_SIZE = 256 * 1024
/** Room after BATCH_SIZE for the largest single header (symlink target + entry name). */
const BATCH_SLACK = 16 * 1024
/** Files up to this size are read with one read straight into the batch buffer. */
const SMALL_FILE = 128 * 1024
/** Read size for large files. */
export const CHUNK_SIZE = 1024 * 1024

/** A batch is handed out once the walk has spent this long (ms) since the last one, whatever its size. */
const BATCH_MS = 4
/** Nodes walked between two looks at the clock. */
const CLOCK_EVERY = 32

/** Size of a batch buffer. */
export const BATCH_CAPACITY = BATCH_SIZE + BATCH_SLACK + SMALL_FILE

/** Where a walk takes its output buffers from (a buffer is always yielded before the next is asked for). */
export interface ChunkAllocator {
  /** A buffer of `size` bytes (at most {@link CHUNK_SIZE}). */
  readonly alloc: (size: number) => Buffer
}

/**
 * Recycles chunk buffers when the consumer says it is done with a chunk.
 * Fresh 1 MiB buffers cost page faults and GC work comparable to hashing the
 * data, so the internal consumers (hashing, writing to a Node stream) give
 * chunks back; the general `dumpPath` stream does not (its chunks are the
 * consumer's to keep).
 */
export class ChunkPool implements ChunkAllocator {
  private readonly free = new Map<number, Array<ArrayBuffer>>()

  /** A buffer of `size` bytes, recycled if one is free. */
  readonly alloc = (size: number): Buffer => {
    const ab = this.free.get(size)?.pop()
    return ab === undefined ? Buffer.allocUnsafe(size) : Buffer.from(ab, 0, size)
  }

  /** Gives a chunk's buffer back (chunks of other origins are ignored). */
  release(chunk: Uint8Array): void {
    const ab = chunk.buffer
    if (!(ab instanceof ArrayBuffer) || (ab.byteLength !== CHUNK_SIZE && ab.byteLength !== BATCH_CAPACITY)) return
    const list = this.free.get(ab.byteLength) ?? []
    if (list.length < 8) list.push(ab)
    this.free.set(ab.byteLength, list)
  }
}

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0
const READ_FLAGS = fs.constants.O_RDONLY | O_NOFOLLOW

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength))

const display = (p: Uint8Array): string => Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString()

const fileChanged = (p: Uint8Array) => new DumpFailure("FileChanged", display(p), "file shrank while it was being read")

const fileTypeName = (st: fs.Stats): string =>
  st.isSocket()
    ? "socket"
    : st.isFIFO()
    ? "FIFO"
    : st.isCharacterDevice()
    ? "character device"
    : st.isBlockDevice()
    ? "block device"
    : "unknown file type"

/** Runs a synchronous fs operation, mapping failures to DumpFailure. */
const attempt = <A>(p: Uint8Array, detail: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    throw new DumpFailure("Io", display(p), detail, e)
  }
}

/** Fills `buf[off, off+len)` from `fd` at `position`; throws FileChanged on early end of file. */
const readFully = (p: Buffer, fd: number, buf: Uint8Array, off: number, len: number, position: number): void => {
  let done = 0
  while (done < len) {
    const n = attempt(p, "reading file", () => fs.readSync(fd, buf, off + done, len - done, position + done))
    if (n === 0) throw fileChanged(p)
    done += n
  }
}

/** A directory being walked: its entries in byte order and the next one to emit. */
export interface DirFrame {
  readonly path: Uint8Array
  readonly names: ReadonlyArray<Uint8Array>
  index: number
}

/**
 * Where a walk stopped between two nodes, to be resumed elsewhere (by the dump
 * worker): the open directories, and the node to emit next, whose entry header
 * has already been produced. Plain data: it survives `postMessage`.
 */
export interface WalkState {
  readonly stack: ReadonlyArray<DirFrame>
  readonly next: Uint8Array
}

/** A {@link WalkState} with byte strings as latin1 strings: cheap to post to a worker. */
export interface PortableWalkState {
  readonly stack: ReadonlyArray<
    { readonly path: string; readonly names: ReadonlyArray<string>; readonly index: number }
  >
  readonly next: string
}

const latin1 = (u: Uint8Array): string => asBuffer(u).toString("latin1")

/** The portable form of a walk state (latin1 maps every byte to one character and back). */
export const toPortable = (s: WalkState): PortableWalkState => ({
  stack: s.stack.map((f) => ({ path: latin1(f.path), names: f.names.map(latin1), index: f.index })),
  next: latin1(s.next)
})

/** The walk state a {@link toPortable} string form stands for. */
export const fromPortable = (p: PortableWalkState): WalkState => ({
  stack: p.stack.map((f) => ({
    path: Buffer.from(f.path, "latin1"),
    names: f.names.map((n) => Buffer.from(n, "latin1")),
    index: f.index
  })),
  next: Buffer.from(p.next, "latin1")
})

/** Options of {@link walkChunks}. */
export interface WalkOptions {
  /** Where output buffers come from (default: fresh ones, which the consumer may keep). */
  readonly pool?: ChunkAllocator
  /** Asked between nodes: true stops the walk there, returning its {@link WalkState}. */
  readonly handOff?: () => boolean
  /** Resume a walk handed off elsewhere (`root` is then ignored, and no magic is written). */
  readonly resume?: WalkState
}

/**
 * The NAR bytes of the tree at `root`, as a generator of chunks (each a fresh
 * buffer the consumer may keep, unless a pool is given: then the consumer
 * must release each chunk to the pool once done with it). It uses synchronous fs calls: from the page
 * cache they take microseconds, while a thread-pool round trip per call costs
 * far more on a loaded machine; the event loop still runs between chunks.
 * Closing the generator early (`return()`) closes the open file. The return
 * value is the walk's state when `handOff` stopped it, else undefined.
 */
export function* walkChunks(
  root: Uint8Array,
  options: WalkOptions = {}
): Generator<Uint8Array, WalkState | undefined, undefined> {
  const pool = options.pool
  const alloc = (size: number): Buffer => (pool === undefined ? Buffer.allocUnsafe(size) : pool.alloc(size))
  // The batch buffer is only allocated when something goes into it, so buffers are yielded
  // in the order they were allocated (the dump worker's ring allocator relies on it).
  let buf: Buffer | undefined
  let len = 0
  const batch = (): Buffer => (buf ??= alloc(BATCH_CAPACITY))
  const put = (bytes: Uint8Array): void => {
    batch().set(bytes, len)
    len += bytes.length
  }
  let flushedAt = performance.now()
  let nodes = 0
  const flush = (): Uint8Array => {
    const out = batch().subarray(0, len)
    buf = undefined
    len = 0
    flushedAt = performance.now()
    return out
  }
  /** A batch is full, or took long enough to make. */
  const batchDue = (): boolean =>
    len >= BATCH_SIZE || (len > 0 && ++nodes % CLOCK_EVERY === 0 && performance.now() - flushedAt >= BATCH_MS)

  const stack: Array<DirFrame> = options.resume === undefined
    ? []
    : options.resume.stack.map((f) => ({ path: asBuffer(f.path), names: f.names.map(asBuffer), index: f.index }))
  let path = asBuffer(options.resume === undefined ? root : options.resume.next)
  if (options.resume === undefined) put(MAGIC_BYTES)
  let st = attempt(path, "getting status", () => fs.lstatSync(path))
  for (;;) {
    // Emit the node at `path` (its entry header, if any, is already in the buffer).
    let openedDirectory = false
    if (st.isFile()) {
      const size = st.size
      const executable = (st.mode & 0o100) !== 0
      const fd = attempt(path, "opening file", () => fs.openSync(path, READ_FLAGS))
      try {
        len = writeRegularHeader(batch(), len, executable, size)
        if (size <= SMALL_FILE) {
          if (size > 0) readFully(path, fd, batch(), len, size, 0)
          len += size
        } else {
          yield flush()
          for (let pos = 0; pos < size;) {
            const n = Math.min(CHUNK_SIZE, size - pos)
            const chunk = alloc(pool === undefined ? n : CHUNK_SIZE)
            readFully(path, fd, chunk, 0, n, pos)
            pos += n
            yield chunk.subarray(0, n)
          }
        }
        len = writeRegularTrailer(batch(), len, size)
      } finally {
        fs.closeSync(fd)
      }
    } else if (st.isSymbolicLink()) {
      const target = attempt(path, "reading symlink", () => fs.readlinkSync(path, { encoding: "buffer" }))
      put(symlinkNode(target))
    } else if (st.isDirectory()) {
      const names = attempt(path, "reading directory", () => fs.readdirSync(path, { encoding: "buffer" }))
      names.sort(Buffer.compare)
      put(DIRECTORY_PREFIX)
      stack.push({ path, names, index: 0 })
      openedDirectory = true
    } else {
      throw new DumpFailure("UnsupportedFileType", display(path), `cannot store a ${fileTypeName(st)} in a NAR`)
    }
    // Find the next node: close finished entries and directories, open the next entry.
    let closeEntry = !openedDirectory
    for (;;) {
      if (batchDue()) yield flush()
      const frame = stack[stack.length - 1]
      if (frame === undefined) {
        if (len > 0) yield flush()
        return undefined
      }
      if (closeEntry) put(CLOSE_BYTES)
      const name = frame.names[frame.index++]
      if (name === undefined) {
        put(CLOSE_BYTES) // the directory node
        stack.pop()
        closeEntry = true // the entry holding it, if any
        continue
      }
      put(entryHeader(name))
      path = joinBytes(asBuffer(frame.path), name)
      if (options.handOff?.() === true) {
        if (len > 0) yield flush()
        return { stack, next: path }
      }
      const p = path
      st = attempt(p, "getting status", () => fs.lstatSync(p))
      break
    }
  }
}
