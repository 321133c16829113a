/**
 * Serialising a file tree as a NAR, streaming.
 *
 * The tree is walked with `lstat` (symlinks are stored, never followed);
 * directory entries are sorted by name bytes. Headers and small files are
 * batched into ~256 KiB output chunks; large files are read in 1 MiB chunks,
 * so memory stays flat whatever the file sizes.
 *
 * @since 0.1.0
 */
import { Effect, Option, Sink, Stream } from "effect"
import * as fs from "node:fs"
import type { Writable } from "node:stream"
import {
  CLOSE_BYTES,
  DIRECTORY_PREFIX,
  MAGIC_BYTES,
  entryHeader,
  symlinkNode,
  writeRegularHeader,
  writeRegularTrailer
} from "../core/nar/encode.js"
import { NarDumpError, NarWriteError } from "./errors.js"
import * as fsOps from "./fsOps.js"
import { makeNarHasher, type NarHasher, type NarHashResult, tapNarHasher } from "./hash.js"

/** Target size of batched output chunks (headers and small files). */
const BATCH_SIZE = 256 * 1024
/** Room after BATCH_SIZE for the largest single header (symlink target + entry name). */
const BATCH_SLACK = 16 * 1024
/** Files up to this size are read with one read straight into the batch buffer. */
const SMALL_FILE = 128 * 1024
/** Read size for large files. */
const CHUNK_SIZE = 1024 * 1024

/** Size of a batch buffer. */
const BATCH_CAPACITY = BATCH_SIZE + BATCH_SLACK + SMALL_FILE

/**
 * Recycles chunk buffers when the consumer says it is done with a chunk.
 * Fresh 1 MiB buffers cost page faults and GC work comparable to hashing the
 * data, so the internal consumers (hashing, writing to a Node stream) give
 * chunks back; the general `dumpPath` stream does not (its chunks are the
 * consumer's to keep).
 */
class ChunkPool {
  private readonly free = new Map<number, Array<ArrayBuffer>>()

  alloc(size: number): Buffer {
    const ab = this.free.get(size)?.pop()
    return ab === undefined ? Buffer.allocUnsafe(size) : Buffer.from(ab, 0, size)
  }

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

const display = (p: Buffer): string => p.toString()

const ioError = (p: Buffer, detail: string) => (cause: unknown) =>
  new NarDumpError({ kind: "Io", path: display(p), detail, cause })

const fileChanged = (p: Buffer) =>
  new NarDumpError({ kind: "FileChanged", path: display(p), detail: "file shrank while it was being read" })

const fileTypeName = (st: fs.Stats): string =>
  st.isSocket() ? "socket" : st.isFIFO() ? "FIFO" : st.isCharacterDevice() ? "character device" : st.isBlockDevice() ? "block device" : "unknown file type"

/** Runs a synchronous fs operation, mapping failures to NarDumpError. */
const attempt = <A>(p: Buffer, detail: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    throw ioError(p, detail)(e)
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

interface DirFrame {
  readonly path: Buffer
  readonly names: Array<Buffer>
  index: number
}

/**
 * The NAR bytes of the tree at `root`, as a generator of chunks (each a fresh
 * buffer the consumer may keep, unless a pool is given: then the consumer
 * must release each chunk to the pool once done with it). It uses synchronous fs calls: from the page
 * cache they take microseconds, while a thread-pool round trip per call costs
 * far more on a loaded machine; the event loop still runs between chunks.
 * Closing the generator early (`return()`) closes the open file.
 */
function* dumpChunks(root: Buffer, pool: ChunkPool | undefined): Generator<Uint8Array, void, undefined> {
  const alloc = (size: number): Buffer => (pool === undefined ? Buffer.allocUnsafe(size) : pool.alloc(size))
  let buf = alloc(BATCH_CAPACITY)
  let len = 0
  const put = (bytes: Uint8Array): void => {
    buf.set(bytes, len)
    len += bytes.length
  }
  const flush = (): Uint8Array => {
    const out = buf.subarray(0, len)
    buf = alloc(BATCH_CAPACITY)
    len = 0
    return out
  }

  put(MAGIC_BYTES)
  const stack: Array<DirFrame> = []
  let path = root
  let st = attempt(root, "getting status", () => fs.lstatSync(root))
  for (;;) {
    // Emit the node at `path` (its entry header, if any, is already in the buffer).
    let openedDirectory = false
    if (st.isFile()) {
      const size = st.size
      const executable = (st.mode & 0o100) !== 0
      const fd = attempt(path, "opening file", () => fs.openSync(path, READ_FLAGS))
      try {
        len = writeRegularHeader(buf, len, executable, size)
        if (size <= SMALL_FILE) {
          if (size > 0) readFully(path, fd, buf, len, size, 0)
          len += size
        } else {
          yield flush()
          for (let pos = 0; pos < size; ) {
            const n = Math.min(CHUNK_SIZE, size - pos)
            const chunk = pool === undefined ? Buffer.allocUnsafe(n) : pool.alloc(CHUNK_SIZE)
            readFully(path, fd, chunk, 0, n, pos)
            pos += n
            yield chunk.subarray(0, n)
          }
        }
        len = writeRegularTrailer(buf, len, size)
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
      throw new NarDumpError({
        kind: "UnsupportedFileType",
        path: display(path),
        detail: `cannot store a ${fileTypeName(st)} in a NAR`
      })
    }
    // Find the next node: close finished entries and directories, open the next entry.
    let closeEntry = !openedDirectory
    for (;;) {
      if (len >= BATCH_SIZE) yield flush()
      const frame = stack[stack.length - 1]
      if (frame === undefined) {
        if (len > 0) yield flush()
        return
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
      path = fsOps.joinBytes(frame.path, name)
      const p = path
      st = attempt(p, "getting status", () => fs.lstatSync(p))
      break
    }
  }
}

const toDumpError = (path: string) => (e: unknown): NarDumpError =>
  e instanceof NarDumpError ? e : new NarDumpError({ kind: "Io", path, detail: "dumping", cause: e })

/** The NAR serialisation of the file tree at `path`, as a byte stream (symlinks are not followed). */
export const dumpPath = (path: string): Stream.Stream<Uint8Array, NarDumpError> =>
  Stream.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => dumpChunks(Buffer.from(path), undefined)),
        (it) => Effect.sync(() => it.return(undefined))
      ),
      (it) =>
        Stream.repeatEffectOption(
          Effect.try({ try: () => it.next(), catch: (e) => Option.some(toDumpError(path)(e)) }).pipe(
            Effect.flatMap((r) => (r.done === true ? Effect.fail(Option.none()) : Effect.succeed(r.value)))
          )
        )
    )
  )

/**
 * Runs the dumper with recycled buffers: `consume` gets each chunk and a
 * `release` to call once the chunk's bytes are no longer needed. Returns the
 * NAR's sha256 and size.
 */
const foldDump = <E, R>(
  path: string,
  consume: (chunk: Uint8Array, release: () => void) => Effect.Effect<void, E, R>,
  hasher: NarHasher = makeNarHasher()
): Effect.Effect<NarHashResult, NarDumpError | E, R> =>
  Effect.suspend(() => {
    const pool = new ChunkPool()
    const toError = toDumpError(path)
    return Effect.acquireUseRelease(
      Effect.sync(() => dumpChunks(Buffer.from(path), pool)),
      (it) =>
        Effect.gen(function*() {
          for (;;) {
            const r = yield* Effect.try({ try: () => it.next(), catch: toError })
            if (r.done === true) return hasher.result()
            const chunk = r.value
            hasher.update(chunk)
            yield* consume(chunk, () => pool.release(chunk))
          }
        }),
      (it) => Effect.sync(() => it.return(undefined))
    )
  })

/** sha256 and size of the NAR serialisation of `path`, computed without holding the NAR in memory. */
export const narHashPath = (path: string): Effect.Effect<NarHashResult, NarDumpError> =>
  foldDump(path, (_chunk, release) => Effect.sync(release)).pipe(
    Effect.withSpan("nar.narHashPath", { attributes: { path } })
  )

/**
 * Dumps `path` as a NAR into a sink, and returns the NAR's sha256 and size
 * computed in the same pass.
 */
export const dumpPathToSink = <E, R>(
  path: string,
  sink: Sink.Sink<unknown, Uint8Array, unknown, E, R>
): Effect.Effect<NarHashResult, NarDumpError | E, R> =>
  Effect.suspend(() => {
    const hasher = makeNarHasher()
    return Stream.run(tapNarHasher(hasher)(dumpPath(path)), sink).pipe(Effect.map(() => hasher.result()))
  })

/** Writes one chunk and waits until the stream has taken it (its write callback), then releases it. */
const writeChunk = (
  w: Writable | NodeJS.WritableStream,
  chunk: Uint8Array,
  release: () => void
): Effect.Effect<void, NarWriteError> =>
  Effect.async<void, NarWriteError>((resume) => {
    w.write(chunk, (err?: Error | null) => {
      release()
      resume(err ? Effect.fail(new NarWriteError({ cause: err })) : Effect.void)
    })
  })

/** Options of {@link dumpPathToWritable}. */
export interface DumpToWritableOptions {
  /** End the writable afterwards (default false: `process.stdout` stays open). */
  readonly end?: boolean
  /** Compute the sha256 (default true); with false, `narHash` is empty and only `narSize` is set (saves CPU for a plain `--dump`). */
  readonly hash?: boolean
}

/**
 * Dumps `path` as a NAR into a Node writable (e.g. `process.stdout`; it is not
 * ended unless `end` is set) and returns the NAR's sha256 and size, computed
 * in the same pass. Each chunk is handed over before the next is read, so
 * memory stays flat even when the reader is slow.
 */
export const dumpPathToWritable = (
  path: string,
  writable: () => Writable | NodeJS.WritableStream,
  options: DumpToWritableOptions = {}
): Effect.Effect<NarHashResult, NarDumpError | NarWriteError> =>
  Effect.suspend(() => {
    const w = writable()
    // Without a listener, an 'error' event (EPIPE on stdout…) would crash the process; the write callback reports it.
    const onError = () => undefined
    w.on("error", onError)
    const finish = options.end === true
      ? Effect.async<void, NarWriteError>((resume) => {
        w.end(() => resume(Effect.void))
      })
      : Effect.void
    return foldDump(path, (chunk, release) => writeChunk(w, chunk, release), options.hash === false ? countOnly() : undefined).pipe(
      Effect.tap(() => finish),
      Effect.ensuring(Effect.sync(() => w.removeListener("error", onError)))
    )
  }).pipe(Effect.withSpan("nar.dumpPathToWritable", { attributes: { path } }))

/** A hasher that only counts bytes (its narHash is empty). */
const countOnly = (): NarHasher => {
  let size = 0
  return {
    update: (chunk) => {
      size += chunk.length
    },
    result: () => ({ narHash: new Uint8Array(0), narSize: size })
  }
}
