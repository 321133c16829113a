/**
 * The main thread's side of the dump worker (dumpWorker.ts): starting it,
 * handing it a walk, and taking the NAR bytes it publishes in the shared ring
 * (dumpRing.ts). Waiting for the worker never blocks the event loop
 * (`Atomics.waitAsync`).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads"
import {
  CONSUMED,
  END,
  FAILED,
  GO_STOP,
  GO_WALK,
  LENGTHS,
  makeRingMemory,
  ORDER,
  type PostedFailure,
  type PostedWalk,
  type PostedWritten,
  PRODUCED,
  READY,
  SLOT_SIZE,
  SLOTS
} from "./dumpRing.js"
import { NarDumpError, NarWriteError } from "../core/nar/ioErrors.js"
import { type PortableWalkState, toPortable, type WalkState } from "./walk.js"

// Beside this module: dist/io/dumpWorker.js, or dist/bundle/dumpWorker.js in the CLI bundle
// (whose import.meta.url is the bundle's). Running from TypeScript sources there is none.
const workerUrl = new URL("./dumpWorker.js", import.meta.url)
let workerFileExists: boolean | undefined

/**
 * `Atomics.waitAsync` (ES2024; Node has it since 16): not in this project's ES2022 lib. Looked up
 * when called, not when the module loads: a V8 start-up snapshot is built without `Atomics`.
 */
const waitAsync = (a: Int32Array, i: number, v: number, timeout: number) =>
  (Atomics as unknown as {
    waitAsync: (
      a: Int32Array,
      i: number,
      v: number,
      timeout: number
    ) => { async: boolean; value: Promise<string> | string }
  }).waitAsync(a, i, v, timeout)

/** A started dump worker. */
export interface DumpWorker {
  /** True once the worker has started and waits for a walk. */
  readonly ready: () => boolean
  /** Hands the rest of the walk to the worker; `next` then yields its bytes. */
  readonly start: (state: WalkState) => void
  /**
   * Hands the rest of the walk to the worker, which writes the NAR to `fd`
   * itself (blocking writes); `written` then waits for the end and gives the
   * bytes it wrote.
   */
  readonly startWriting: (state: WalkState, fd: number) => void
  /** After `startWriting`: the bytes the worker wrote, once it is done. */
  readonly written: Effect.Effect<number, NarDumpError | NarWriteError>
  /** The next chunk (a view of shared memory, valid until `release`), or undefined once the NAR is complete. */
  readonly next: Effect.Effect<Uint8Array | undefined, NarDumpError>
  /** Gives back the chunk `next` returned last. */
  readonly release: () => void
  /** Stops the worker (safe to call at any time, and more than once); resolves once its thread has ended. */
  readonly stop: () => Promise<void>
}

const postedCause = (c: NonNullable<PostedFailure["cause"]>): Error =>
  Object.assign(new Error(c.message), c.code === undefined ? {} : { code: c.code })

const toNarDumpError = (f: PostedFailure | undefined, path: string): NarDumpError | NarWriteError =>
  f === undefined
    ? new NarDumpError({ kind: "Io", path, detail: "the dump worker failed without saying why" })
    : f.kind === "Write"
    ? new NarWriteError({ cause: f.cause === undefined ? new Error(f.detail) : postedCause(f.cause) })
    : new NarDumpError({
      kind: f.kind,
      path: f.path,
      detail: f.detail,
      ...(f.cause === undefined ? {} : { cause: postedCause(f.cause) })
    })

/**
 * Starts a dump worker for a dump of `path` (used in errors), or returns
 * undefined when none can be started (no worker script beside this module).
 * A worker that fails to start simply never becomes ready.
 */
export const startDumpWorker = (path: string): DumpWorker | undefined => {
  workerFileExists ??= fs.existsSync(fileURLToPath(workerUrl))
  if (!workerFileExists) return undefined
  const memory = makeRingMemory()
  const ctl = new Int32Array(memory.control)
  const data = Buffer.from(memory.data)
  const { port1, port2 } = new MessageChannel()
  let worker: Worker
  try {
    worker = new Worker(workerUrl, { workerData: { ...memory, port: port2 }, transferList: [port2] })
  } catch {
    port1.close()
    return undefined
  }
  let exited = false
  let stopped: Promise<void> | undefined
  // A worker that cannot start, or dies, emits 'error' then 'exit': waiting readers are woken up.
  worker.on("error", () => undefined)
  worker.on("exit", () => {
    exited = true
    Atomics.notify(ctl, PRODUCED)
  })
  let consumed = 0
  const pull: Effect.Effect<Uint8Array | undefined, NarDumpError | NarWriteError> = Effect.suspend(() => {
    if (stopped !== undefined) {
      return Effect.fail(new NarDumpError({ kind: "Io", path, detail: "the dump worker was stopped" }))
    }
    const produced = Atomics.load(ctl, PRODUCED)
    if (produced > consumed) {
      const slot = consumed % SLOTS
      const length = Atomics.load(ctl, LENGTHS + slot)
      if (length === END) return Effect.succeed(undefined)
      if (length === FAILED) {
        return Effect.fail(toNarDumpError(receiveMessageOnPort(port1)?.message as PostedFailure | undefined, path))
      }
      return Effect.succeed(data.subarray(slot * SLOT_SIZE, slot * SLOT_SIZE + length))
    }
    if (exited) {
      return Effect.fail(new NarDumpError({ kind: "Io", path, detail: "the dump worker stopped before the end" }))
    }
    const wait = waitAsync(ctl, PRODUCED, produced, 1000)
    return wait.async ? Effect.flatMap(Effect.promise(() => wait.value as Promise<string>), () => pull) : pull
  })
  // A worker that fills the ring never writes: a write failure cannot come from it.
  const next = Effect.catchTag(
    pull,
    "NarWriteError",
    (e) => Effect.fail(new NarDumpError({ kind: "Io", path, detail: "writing", cause: e.cause }))
  )
  const order = (walk: PostedWalk<PortableWalkState>): void => {
    port1.postMessage(walk)
    Atomics.store(ctl, ORDER, GO_WALK)
    Atomics.notify(ctl, ORDER)
  }
  const written: Effect.Effect<number, NarDumpError | NarWriteError> = Effect.flatMap(pull, (chunk) => {
    if (chunk !== undefined) return Effect.dieMessage("dump worker: bytes in the ring of a worker that writes")
    const m = receiveMessageOnPort(port1)?.message as PostedWritten | undefined
    return m === undefined
      ? Effect.fail(new NarDumpError({ kind: "Io", path, detail: "the dump worker did not say what it wrote" }))
      : Effect.succeed(m.written)
  })
  return {
    ready: () => !exited && Atomics.load(ctl, READY) === 1,
    start: (state) => order({ state: toPortable(state) }),
    startWriting: (state, fd) => order({ state: toPortable(state), fd }),
    written,
    next,
    release: () => {
      consumed++
      Atomics.store(ctl, CONSUMED, consumed)
      Atomics.notify(ctl, CONSUMED)
    },
    stop: () => {
      if (stopped === undefined) {
        Atomics.store(ctl, ORDER, GO_STOP)
        Atomics.notify(ctl, ORDER)
        Atomics.notify(ctl, CONSUMED)
        Atomics.notify(ctl, PRODUCED)
        port1.close()
        stopped = worker.terminate().then(() => undefined, () => undefined)
      }
      return stopped
    }
  }
}
