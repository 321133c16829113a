/**
 * Serialising a file tree as a NAR, streaming (the walk itself is walk.ts).
 *
 * Hashing and writing a large tree: after the first `workerAfterBytes` of NAR
 * (8 MiB by default), the rest of the walk moves to a worker thread
 * (dumpWorker.ts) as soon as one has started, so that the file-system calls
 * overlap the hashing or writing done here; until then, and for everything
 * smaller, the walk runs on this thread. Either way the consumer here gives
 * the event loop a turn between chunks once its time slice is used up
 * (eventLoop.ts).
 *
 * @since 0.1.0
 */
import { Effect, Option, Sink, Stream } from "effect"
import * as fs from "node:fs"
import type { Writable } from "node:stream"
import { type DumpWorker, startDumpWorker } from "./dumpWorkerClient.js"
import { NarDumpError, NarWriteError } from "../core/nar/ioErrors.js"
import { yieldIfSliceUsedUp } from "./eventLoop.js"
import { makeNarHasher, type NarHasher, type NarHashResult, tapNarHasher } from "./hash.js"
import { ChunkPool, DumpFailure, walkChunks } from "./walk.js"

/**
 * Buffers of the dumps that give them back (hashing, writing to a Node stream),
 * shared by all of them: a dump holds a buffer only until its consumer is done
 * with it. One pool per dump cost a fresh 400 KiB batch buffer per path (page
 * faults and GC: ~200 µs of a ~350 µs hash of a tiny path, e.g. in
 * `--verify --check-contents`).
 */
const sharedPool = new ChunkPool()

/** Default of {@link DumpOptions.workerAfterBytes}. */
const WORKER_AFTER_BYTES = 8 * 1024 * 1024

/** Options of the dumps that hash or write as they go ({@link narHashPath}, {@link dumpPathToWritable}). */
export interface DumpOptions {
  /**
   * Once this many NAR bytes have been produced on the calling thread, the
   * rest of the walk moves to a worker thread (started then; the walk goes on
   * here until it is ready). Default 8 MiB; `Infinity` never starts one.
   */
  readonly workerAfterBytes?: number
}

const toDumpError = (path: string) => (e: unknown): NarDumpError =>
  e instanceof DumpFailure
    ? new NarDumpError({
      kind: e.kind,
      path: e.path,
      detail: e.detail,
      ...(e.cause === undefined ? {} : { cause: e.cause })
    })
    : e instanceof NarDumpError
    ? e
    : new NarDumpError({ kind: "Io", path, detail: "dumping", cause: e })

/** The NAR serialisation of the file tree at `path`, as a byte stream (symlinks are not followed). */
export const dumpPath = (path: string): Stream.Stream<Uint8Array, NarDumpError> =>
  Stream.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => walkChunks(Buffer.from(path))),
        (it) => Effect.sync(() => it.return(undefined))
      ),
      (it) =>
        Stream.repeatEffectOption(
          Effect.zipRight(
            yieldIfSliceUsedUp,
            Effect.try({ try: () => it.next(), catch: (e) => Option.some(toDumpError(path)(e)) })
          ).pipe(
            Effect.flatMap((r) => (r.done === true ? Effect.fail(Option.none()) : Effect.succeed(r.value)))
          )
        )
    )
  )

/**
 * The walk's hand-off to a dump worker: once `threshold` NAR bytes were
 * produced on this thread, a worker is started, and the walk stops for it as
 * soon as it is ready (the caller then gives it the walk's resume point).
 */
class WorkerHandOff {
  /** NAR bytes produced on this thread so far (the caller counts them). */
  produced = 0
  // undefined: not asked for yet; null: none could be started.
  private started: DumpWorker | null | undefined
  constructor(private readonly path: string, private readonly threshold: number) {}
  /** Asked by the walk between entries: whether to stop for the worker. */
  readonly ready = (): boolean => {
    if (this.produced < this.threshold) return false
    if (this.started === undefined) this.started = startDumpWorker(this.path) ?? null
    return this.started !== null && this.started.ready()
  }
  /** The worker, once one was started. */
  get worker(): DumpWorker | undefined {
    return this.started ?? undefined
  }
  /** Stops the worker, if any (not awaited: nothing of it is used any more). */
  stop(): void {
    if (this.started !== undefined && this.started !== null) void this.started.stop()
  }
}

/** Starts the walk of `path` on this thread, with its hand-off to a worker. */
const openWalk = (path: string, options: DumpOptions) => {
  const handOff = new WorkerHandOff(path, options.workerAfterBytes ?? WORKER_AFTER_BYTES)
  return { handOff, it: walkChunks(Buffer.from(path), { pool: sharedPool, handOff: handOff.ready }) }
}

/** Ends a walk opened by {@link openWalk}, and its worker. */
const closeWalk = ({ handOff, it }: ReturnType<typeof openWalk>) =>
  Effect.sync(() => {
    it.return(undefined)
    handOff.stop()
  })

/**
 * Runs the dumper with recycled buffers: `consume` gets each chunk and a
 * `release` to call once the chunk's bytes are no longer needed (chunks are
 * released in order). Returns the NAR's sha256 and size.
 */
const foldDump = <E, R>(
  path: string,
  consume: (chunk: Uint8Array, release: () => void) => Effect.Effect<void, E, R>,
  hasher: NarHasher,
  options: DumpOptions
): Effect.Effect<NarHashResult, NarDumpError | E, R> =>
  Effect.suspend(() => {
    const pool = sharedPool
    const toError = toDumpError(path)
    return Effect.acquireUseRelease(
      Effect.sync(() => openWalk(path, options)),
      ({ handOff, it }) =>
        Effect.gen(function*() {
          for (;;) {
            yield* yieldIfSliceUsedUp
            const r = yield* Effect.try({ try: () => it.next(), catch: toError })
            if (r.done === true) {
              const w = handOff.worker
              if (r.value === undefined || w === undefined) return hasher.result()
              // The walk stopped for the worker (handOff said it is ready): it does the rest.
              w.start(r.value)
              yield* Effect.logDebug(
                `dumping '${path}': a worker thread continues the walk after ${handOff.produced} bytes`
              )
              for (;;) {
                yield* yieldIfSliceUsedUp
                const chunk = yield* w.next
                if (chunk === undefined) return hasher.result()
                hasher.update(chunk)
                yield* consume(chunk, w.release)
              }
            }
            const chunk = r.value
            handOff.produced += chunk.length
            hasher.update(chunk)
            yield* consume(chunk, () => pool.release(chunk))
          }
        }),
      closeWalk
    )
  })

/** sha256 and size of the NAR serialisation of `path`, computed without holding the NAR in memory. */
export const narHashPath = (path: string, options: DumpOptions = {}): Effect.Effect<NarHashResult, NarDumpError> =>
  foldDump(path, (_chunk, release) => Effect.sync(release), makeNarHasher(), options).pipe(
    Effect.withSpan("nar.narHashPath", { attributes: { path }, captureStackTrace: false })
  )

/**
 * {@link narHashPath} that also shows each chunk to `observe` (synchronously, before the chunk's
 * buffer is reused): e.g. a reference scan or another hash in the same pass, with the pooled
 * buffers and the worker thread of a large tree.
 */
export const narHashPathObserved = (
  path: string,
  observe: (chunk: Uint8Array) => void,
  options: DumpOptions = {}
): Effect.Effect<NarHashResult, NarDumpError> =>
  foldDump(
    path,
    (chunk, release) =>
      Effect.sync(() => {
        observe(chunk)
        release()
      }),
    makeNarHasher(),
    options
  ).pipe(
    Effect.withSpan("nar.narHashPathObserved", { attributes: { path }, captureStackTrace: false })
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
export interface DumpToWritableOptions extends DumpOptions {
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
    return foldDump(
      path,
      (chunk, release) => writeChunk(w, chunk, release),
      options.hash === false ? countOnly() : makeNarHasher(),
      options
    ).pipe(
      Effect.tap(() => finish),
      Effect.ensuring(Effect.sync(() => w.removeListener("error", onError)))
    )
  }).pipe(Effect.withSpan("nar.dumpPathToWritable", { attributes: { path }, captureStackTrace: false }))

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

/** Pause before retrying a write that met EAGAIN (a non-blocking descriptor whose pipe is full), in ms. */
const EAGAIN_PAUSE_MS = 1

/**
 * Writes all of one chunk at `fd`'s current position through the thread pool
 * (the event loop stays free), then releases it.
 */
const writeFdChunk = (fd: number, chunk: Uint8Array, release: () => void): Effect.Effect<void, NarWriteError> =>
  Effect.async<void, NarWriteError>((resume) => {
    const go = (off: number): void => {
      if (off >= chunk.length) {
        release()
        return resume(Effect.void)
      }
      fs.write(fd, chunk, off, chunk.length - off, null, (err, n) => {
        if (err === null) return go(off + n)
        if (err.code === "EAGAIN") return void setTimeout(() => go(off), EAGAIN_PAUSE_MS)
        release()
        resume(Effect.fail(new NarWriteError({ cause: err })))
      })
    }
    go(0)
  })

/**
 * Dumps `path` as a NAR into the open descriptor `fd` (a file, a pipe…) and
 * returns the NAR's size; no hash is computed (`nix-store --dump`'s job).
 * Once the worker thread takes the walk over (see {@link DumpOptions}), it
 * writes to `fd` itself, with blocking writes: no byte goes back through this
 * thread, which only waits for the end. `fd` should be in blocking mode (a
 * non-blocking one works, polling on EAGAIN); it is not closed.
 */
export const dumpPathToFd = (
  path: string,
  fd: number,
  options: DumpOptions = {}
): Effect.Effect<number, NarDumpError | NarWriteError> =>
  Effect.suspend(() => {
    const pool = sharedPool
    const toError = toDumpError(path)
    return Effect.acquireUseRelease(
      Effect.sync(() => openWalk(path, options)),
      ({ handOff, it }) =>
        Effect.gen(function*() {
          for (;;) {
            yield* yieldIfSliceUsedUp
            const r = yield* Effect.try({ try: () => it.next(), catch: toError })
            if (r.done === true) {
              const w = handOff.worker
              if (r.value === undefined || w === undefined) return handOff.produced
              w.startWriting(r.value, fd)
              yield* Effect.logDebug(
                `dumping '${path}': a worker thread writes the rest after ${handOff.produced} bytes`
              )
              return handOff.produced + (yield* w.written)
            }
            const chunk = r.value
            handOff.produced += chunk.length
            yield* writeFdChunk(fd, chunk, () => pool.release(chunk))
          }
        }),
      closeWalk
    )
  }).pipe(Effect.withSpan("nar.dumpPathToFd", { attributes: { path, fd }, captureStackTrace: false }))
