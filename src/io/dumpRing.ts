/**
 * The shared-memory ring through which the dump worker (dumpWorker.ts) hands
 * NAR bytes to the main thread (dumpWorkerClient.ts): SLOTS buffers of
 * SLOT_SIZE bytes and an Int32Array of counters and slot lengths, used with
 * Atomics. The worker fills slot `produced % SLOTS` when fewer than SLOTS are
 * unconsumed, publishes its length, then bumps PRODUCED; the main thread reads
 * slot `consumed % SLOTS`, and bumps CONSUMED once it is done with it.
 *
 * @since 0.1.0
 */

/** Number of slots. */
export const SLOTS = 8
/** Bytes per slot. */
export const SLOT_SIZE = 1024 * 1024

/** Index of the count of published slots (the main thread waits on it). */
export const PRODUCED = 0
/** Index of the count of released slots (the worker waits on it). */
export const CONSUMED = 1
/** Index of the worker's "started, waiting for a walk" flag (1). */
export const READY = 2
/** Index of the main thread's order: 0 none yet, GO_WALK (the walk state was posted), GO_STOP. */
export const ORDER = 3
/** ORDER: resume the posted walk. */
export const GO_WALK = 1
/** ORDER: stop at once. */
export const GO_STOP = 2
/** Index of the first slot length (LENGTHS + slot). */
export const LENGTHS = 4

/** Slot length meaning "the NAR is complete". */
export const END = -1
/** Slot length meaning "the walk failed" (the failure was posted on the port). */
export const FAILED = -2

/** The shared memory of one ring. */
export interface RingMemory {
  readonly data: SharedArrayBuffer
  readonly control: SharedArrayBuffer
}

/** Allocates a ring's shared memory. */
export const makeRingMemory = (): RingMemory => ({
  data: new SharedArrayBuffer(SLOTS * SLOT_SIZE),
  control: new SharedArrayBuffer((LENGTHS + SLOTS) * 4)
})

/**
 * The walk order as it crosses the port: the walk state, and the descriptor
 * to write the NAR to when the worker writes it itself (then the ring carries
 * no data, only END or FAILED).
 */
export interface PostedWalk<S> {
  readonly state: S
  readonly fd?: number
}

/** What a worker that wrote the NAR itself posts before END: the bytes it wrote. */
export interface PostedWritten {
  readonly written: number
}

/** A walk failure as it crosses the port (a DumpFailure's data; "Write": writing to the descriptor failed). */
export interface PostedFailure {
  readonly kind: "UnsupportedFileType" | "FileChanged" | "Io" | "Write"
  readonly path: string
  readonly detail: string
  readonly cause?: { readonly message: string; readonly code?: string }
}
