/**
 * Serialising a file tree as a NAR, streaming.
 *
 * The tree is walked with `lstat` (symlinks are stored, never followed);
 * directory entries are sorted by name bytes. Headers and small files are
 * batched into ~256 KiB output chunks; large files are read in 1 MiB chunks
 * with one read ahead, so memory stays flat whatever the file sizes.
 *
 * @since 0.1.0
 */
import { Effect, Sink, Stream } from "effect"
import * as NodeSink from "@effect/platform-node/NodeSink"
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
import { makeNarHasher, type NarHashResult, tapNarHasher } from "./hash.js"

/** Target size of batched output chunks (headers and small files). */
const BATCH_SIZE = 256 * 1024
/** Room after BATCH_SIZE for the largest single header (symlink target + entry name). */
const BATCH_SLACK = 16 * 1024
/** Files up to this size are read with one read straight into the batch buffer. */
const SMALL_FILE = 128 * 1024
/** Read size for large files. */
const CHUNK_SIZE = 1024 * 1024

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0
const READ_FLAGS = fs.constants.O_RDONLY | O_NOFOLLOW

const display = (p: Buffer): string => p.toString()

const ioError = (p: Buffer, detail: string) => (cause: unknown) =>
  new NarDumpError({ kind: "Io", path: display(p), detail, cause })

const fileChanged = (p: Buffer) =>
  new NarDumpError({ kind: "FileChanged", path: display(p), detail: "file shrank while it was being read" })

const fileTypeName = (st: fs.Stats): string =>
  st.isSocket() ? "socket" : st.isFIFO() ? "FIFO" : st.isCharacterDevice() ? "character device" : st.isBlockDevice() ? "block device" : "unknown file type"

/** Calls a promise-returning fs operation, mapping failures to NarDumpError. */
const attempt = async <A>(p: Buffer, detail: string, f: () => Promise<A>): Promise<A> => {
  try {
    return await f()
  } catch (e) {
    throw ioError(p, detail)(e)
  }
}

/** Fills `buf[off, off+len)` from `fd` at `position`; throws FileChanged on early end of file. */
const readFully = async (p: Buffer, fd: number, buf: Uint8Array, off: number, len: number, position: number): Promise<void> => {
  let done = 0
  while (done < len) {
    const n = await attempt(p, "reading file", () => fsOps.read(fd, buf, off + done, len - done, position + done))
    if (n === 0) throw fileChanged(p)
    done += n
  }
}

const readChunk = async (p: Buffer, fd: number, position: number, len: number): Promise<Uint8Array> => {
  const buf = Buffer.allocUnsafe(len)
  await readFully(p, fd, buf, 0, len, position)
  return buf
}

interface DirFrame {
  readonly path: Buffer
  readonly names: Array<Buffer>
  index: number
}

/** The NAR bytes of the tree at `root`, as an async generator of chunks (each chunk is a fresh buffer). */
async function* dumpChunks(root: Buffer): AsyncGenerator<Uint8Array, void, undefined> {
  let buf = Buffer.allocUnsafe(BATCH_SIZE + BATCH_SLACK + SMALL_FILE)
  let len = 0
  const put = (bytes: Uint8Array): void => {
    buf.set(bytes, len)
    len += bytes.length
  }
  const flush = (): Uint8Array => {
    const out = buf.subarray(0, len)
    buf = Buffer.allocUnsafe(BATCH_SIZE + BATCH_SLACK + SMALL_FILE)
    len = 0
    return out
  }

  put(MAGIC_BYTES)
  const stack: Array<DirFrame> = []
  let path = root
  let st = await attempt(root, "getting status", () => fsOps.lstat(root))
  for (;;) {
    // Emit the node at `path` (its entry header, if any, is already in the buffer).
    let openedDirectory = false
    if (st.isFile()) {
      const size = st.size
      const executable = (st.mode & 0o100) !== 0
      const fd = await attempt(path, "opening file", () => fsOps.open(path, READ_FLAGS))
      try {
        len = writeRegularHeader(buf, len, executable, size)
        if (size <= SMALL_FILE) {
          if (size > 0) await readFully(path, fd, buf, len, size, 0)
          len += size
        } else {
          yield flush()
          let pos = 0
          let pending: Promise<Uint8Array> | undefined = readChunk(path, fd, 0, Math.min(CHUNK_SIZE, size))
          try {
            while (pending !== undefined) {
              const chunk: Uint8Array = await pending
              pending = undefined
              pos += chunk.length
              if (pos < size) pending = readChunk(path, fd, pos, Math.min(CHUNK_SIZE, size - pos))
              yield chunk
            }
          } finally {
            // The consumer may stop early: let an in-flight read settle before the fd is closed.
            if (pending !== undefined) await pending.catch(() => undefined)
          }
        }
        len = writeRegularTrailer(buf, len, size)
      } finally {
        await fsOps.close(fd).catch(() => undefined)
      }
    } else if (st.isSymbolicLink()) {
      const target = await attempt(path, "reading symlink", () => fsOps.readlink(path))
      put(symlinkNode(target))
    } else if (st.isDirectory()) {
      const names = await attempt(path, "reading directory", () => fsOps.readdir(path))
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
      st = await attempt(path, "getting status", () => fsOps.lstat(path))
      break
    }
  }
}

/** The NAR serialisation of the file tree at `path`, as a byte stream (symlinks are not followed). */
export const dumpPath = (path: string): Stream.Stream<Uint8Array, NarDumpError> =>
  Stream.suspend(() =>
    Stream.fromAsyncIterable(dumpChunks(Buffer.from(path)), (e) =>
      e instanceof NarDumpError ? e : new NarDumpError({ kind: "Io", path, detail: "dumping", cause: e })
    )
  )

/** sha256 and size of the NAR serialisation of `path`, computed without holding the NAR in memory. */
export const narHashPath = (path: string): Effect.Effect<NarHashResult, NarDumpError> =>
  Effect.suspend(() => {
    const hasher = makeNarHasher()
    return Stream.runDrain(tapNarHasher(hasher)(dumpPath(path))).pipe(Effect.map(() => hasher.result()))
  }).pipe(Effect.withSpan("nar.narHashPath", { attributes: { path } }))

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

/**
 * Dumps `path` as a NAR into a Node writable (e.g. `process.stdout`, not
 * ended afterwards) and returns the NAR's sha256 and size.
 */
export const dumpPathToWritable = (
  path: string,
  writable: () => Writable | NodeJS.WritableStream,
  options: { readonly end?: boolean } = {}
): Effect.Effect<NarHashResult, NarDumpError | NarWriteError> =>
  dumpPathToSink(
    path,
    NodeSink.fromWritable(writable, (cause) => new NarWriteError({ cause }), { endOnDone: options.end ?? false })
  ).pipe(Effect.withSpan("nar.dumpPathToWritable", { attributes: { path } }))
