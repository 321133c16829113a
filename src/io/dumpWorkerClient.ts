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
  PRODUCED,
  READY,
  SLOT_SIZE,
  SLOTS
} from "./dumpRing.js"
import { NarDumpError } from "../core/nar/ioErrors.js"
import { toPortable, type WalkState } from "./walk.js"

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
  /** The next chunk (a view of shared memory, valid until `release`), or undefined once the NAR is complete. */
  readonly next: Effect.Effect<Uint8Array | undefined, NarDumpError>
  /** Gives back the chunk `next` returned last. */
  readonly release: () => void
  /** Stops the worker (safe to call at any time, and more than once); resolves once its thread has ended. */
  readonly stop: () => Promise<void>
}

const toNarDumpError = (f: PostedFailure | undefined, path: string): NarDumpError =>
  f === undefined
    ? new NarDumpError({ kind: "Io", path, detail: "the dump worker failed without saying why" })
    : new NarDumpError({
      kind: f.kind,
      path: f.path,
      detail: f.detail,
      ...(f.cause === undefined
        ? {}
        : {
          cause: Object.assign(new Error(f.cause.message), f.cause.code === undefined ? {} : { code: f.cause.code })
        })
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
  const next: Effect.Effect<Uint8Array | undefined, NarDumpError> = Effect.suspend(() => {
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
    return wait.async ? Effect.flatMap(Effect.promise(() => wait.value as Promise<string>), () => next) : next
  })
  return {
    ready: () => !exited && Atomics.load(ctl, READY) === 1,
    start: (state) => {
      port1.postMessage(toPortable(state))
      Atomics.store(ctl, ORDER, GO_WALK)
      Atomics.notify(ctl, ORDER)
    },
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
