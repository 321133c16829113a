/**
 * The dump worker: a worker thread that continues a NAR walk handed off by the
 * main thread (see dumpWorkerClient.ts) and publishes its bytes in a shared
 * ring (dumpRing.ts), so that the file-system work (lstat, open, read, close)
 * runs beside the main thread's hashing or writing instead of before it.
 *
 * Protocol: it sets READY, waits for ORDER; on GO_WALK it takes the posted
 * walk (PostedWalk) from its port, walks, and ends the ring with END (or posts
 * a PostedFailure and ends it with FAILED). GO_STOP, or a stop while it waits
 * for room, ends it silently. When the walk names a descriptor, the worker
 * writes the NAR there itself (blocking writes, off the main thread), posts
 * PostedWritten and ends the ring with END: no bytes cross the ring. No
 * Effect here: the worker must start fast.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { type MessagePort, receiveMessageOnPort, workerData } from "node:worker_threads"
import {
  CONSUMED,
  END,
  FAILED,
  GO_STOP,
  GO_WALK,
  LENGTHS,
  ORDER,
  type PostedFailure,
  type PostedWalk,
  type PostedWritten,
  PRODUCED,
  READY,
  type RingMemory,
  SLOT_SIZE,
  SLOTS
} from "./dumpRing.js"
import {
  type ChunkAllocator,
  ChunkPool,
  DumpFailure,
  fromPortable,
  type PortableWalkState,
  type WalkState,
  walkChunks
} from "./walk.js"

interface Data extends RingMemory {
  readonly port: MessagePort
}

const { control, data, port } = workerData as Data
const ctl = new Int32Array(control)

class Stopped extends Error {}

let produced = 0

/** Waits until a slot is free (or the main thread says stop). */
const waitForRoom = (): void => {
  for (;;) {
    if (Atomics.load(ctl, ORDER) === GO_STOP) throw new Stopped()
    const consumed = Atomics.load(ctl, CONSUMED)
    if (produced - consumed < SLOTS) return
    Atomics.wait(ctl, CONSUMED, consumed, 1000)
  }
}

/** Publishes one slot of `length` (or a marker) bytes, already written. */
const publish = (length: number): void => {
  Atomics.store(ctl, LENGTHS + (produced % SLOTS), length)
  produced++
  Atomics.store(ctl, PRODUCED, produced)
  Atomics.notify(ctl, PRODUCED)
}

/** The walk's buffers are ring slots: the next slot to publish, once it is free. */
const ringSlots: ChunkAllocator = {
  alloc: (size) => {
    waitForRoom()
    return Buffer.from(data, (produced % SLOTS) * SLOT_SIZE, size)
  }
}

/**
 * Publishes a chunk of the walk. It is always the slot `ringSlots` handed out
 * last (the walk yields each buffer before asking for the next); anything else
 * would be a bug, not something to copy around.
 */
const send = (chunk: Uint8Array): void => {
  if (chunk.buffer !== data || chunk.byteOffset !== (produced % SLOTS) * SLOT_SIZE) {
    throw new Error("dump worker: a chunk outside the ring's next slot")
  }
  publish(chunk.length)
}

/** The posted walk (the message may trail the ORDER flag by a moment). */
const takeWalk = (): PostedWalk<WalkState> => {
  for (;;) {
    const m = receiveMessageOnPort(port)
    if (m !== undefined) {
      const posted = m.message as PostedWalk<PortableWalkState>
      const state = fromPortable(posted.state)
      return posted.fd === undefined ? { state } : { state, fd: posted.fd }
    }
    Atomics.wait(ctl, ORDER, GO_WALK, 1)
  }
}

/** Writing to the output descriptor failed (EPIPE…). */
class WriteFailed extends Error {}

/** For short sleeps while a non-blocking descriptor is full. */
const sleeper = new Int32Array(new SharedArrayBuffer(4))

/**
 * Writes all of `b` to `fd`. A descriptor left non-blocking by someone else
 * (EAGAIN) is retried after 1 ms pauses; the dump normally writes through a
 * blocking one (see dumpPathToFd).
 */
const writeAll = (fd: number, b: Uint8Array): void => {
  for (let off = 0; off < b.length;) {
    try {
      off += fs.writeSync(fd, b, off, b.length - off)
    } catch (e) {
      if ((e as { code?: unknown }).code !== "EAGAIN") throw new WriteFailed("writing the NAR", { cause: e })
      if (Atomics.load(ctl, ORDER) === GO_STOP) throw new Stopped()
      Atomics.wait(sleeper, 0, 0, 1)
    }
  }
}

/** Walks from `state` and writes the NAR to `fd`; returns the bytes written. */
const walkAndWrite = (state: WalkState, fd: number): number => {
  const pool = new ChunkPool()
  let written = 0
  for (const chunk of walkChunks(new Uint8Array(0), { resume: state, pool })) {
    if (Atomics.load(ctl, ORDER) === GO_STOP) throw new Stopped()
    writeAll(fd, chunk)
    written += chunk.length
    pool.release(chunk)
  }
  return written
}

/** An error's message and errno code, as plain data. */
const postedCause = (e: unknown): { readonly message: string; readonly code?: string } => {
  if (!(e instanceof Error)) return { message: String(e) }
  const code = (e as Error & { code?: unknown }).code
  return typeof code === "string" ? { message: e.message, code } : { message: e.message }
}

const run = (): void => {
  Atomics.store(ctl, READY, 1)
  while (Atomics.load(ctl, ORDER) === 0) Atomics.wait(ctl, ORDER, 0)
  if (Atomics.load(ctl, ORDER) !== GO_WALK) return
  const { fd, state } = takeWalk()
  try {
    if (fd === undefined) {
      // The walk reads straight into the ring.
      for (const chunk of walkChunks(new Uint8Array(0), { resume: state, pool: ringSlots })) send(chunk)
    } else {
      const written: PostedWritten = { written: walkAndWrite(state, fd) }
      port.postMessage(written)
    }
    waitForRoom()
    publish(END)
  } catch (e) {
    if (e instanceof Stopped) return
    const failure: PostedFailure = e instanceof WriteFailed
      ? { kind: "Write", path: "", detail: "writing the NAR", cause: postedCause(e.cause) }
      : e instanceof DumpFailure
      ? {
        kind: e.kind,
        path: e.path,
        detail: e.detail,
        ...(e.cause === undefined ? {} : { cause: postedCause(e.cause) })
      }
      : { kind: "Io", path: "", detail: "dump worker failed", cause: postedCause(e) }
    port.postMessage(failure)
    try {
      waitForRoom()
      publish(FAILED)
    } catch {
      // Stopped meanwhile: nobody is reading.
    }
  }
}

run()
port.close()
