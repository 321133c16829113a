/**
 * The dump worker: a worker thread that continues a NAR walk handed off by the
 * main thread (see dumpWorkerClient.ts) and publishes its bytes in a shared
 * ring (dumpRing.ts), so that the file-system work (lstat, open, read, close)
 * runs beside the main thread's hashing or writing instead of before it.
 *
 * Protocol: it sets READY, waits for ORDER; on GO_WALK it takes the posted
 * WalkState from its port, walks, and ends the ring with END (or posts a
 * PostedFailure and ends it with FAILED). GO_STOP, or a stop while it waits
 * for room, ends it silently. No Effect here: the worker must start fast.
 *
 * @since 0.1.0
 */
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
  PRODUCED,
  READY,
  type RingMemory,
  SLOT_SIZE,
  SLOTS
} from "./dumpRing.js"
import {
  type ChunkAllocator,
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

/** The posted walk state (the message may trail the ORDER flag by a moment). */
const takeWalkState = (): WalkState => {
  for (;;) {
    const m = receiveMessageOnPort(port)
    if (m !== undefined) return fromPortable(m.message as PortableWalkState)
    Atomics.wait(ctl, ORDER, GO_WALK, 1)
  }
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
  const state = takeWalkState()
  try {
    // The walk reads straight into the ring.
    for (const chunk of walkChunks(new Uint8Array(0), { resume: state, pool: ringSlots })) send(chunk)
    waitForRoom()
    publish(END)
  } catch (e) {
    if (e instanceof Stopped) return
    const failure: PostedFailure = e instanceof DumpFailure
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
