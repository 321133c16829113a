/**
 * Keeping the event loop responsive during long synchronous work (NAR dumps
 * and restores, canonicalising, removing trees): the work runs in slices of
 * at most {@link SLICE_MS} milliseconds, and between two slices the event
 * loop gets a full turn (a `setImmediate` round, so timers and I/O callbacks
 * run). `Effect.yieldNow` is not enough: Effect's scheduler resumes a
 * yielding fiber from a microtask, before any timer or socket callback.
 *
 * The clock is shared by every operation of the thread, so consecutive
 * operations (a restore, then a canonicalise) do not add up their slices.
 * Checking it costs one `performance.now()`: the sync fast paths stay fast.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { performance } from "node:perf_hooks"

/** Longest stretch of synchronous work before the event loop gets a turn, in ms. */
export const SLICE_MS = 5

let sliceStart = performance.now()

/** True once the current slice is used up (the caller should yield soon). */
export const sliceUsedUp = (): boolean => performance.now() - sliceStart >= SLICE_MS

/** The fibers waiting for the next turn of the event loop, resumed together by one `setImmediate`. */
const waiting = new Set<() => void>()
let turn: NodeJS.Immediate | undefined

const nextTurn = (): void => {
  turn = undefined
  sliceStart = performance.now()
  const resumes = [...waiting]
  waiting.clear()
  for (const resume of resumes) resume()
}

/**
 * Gives the event loop a turn (one `setImmediate` round) and starts a new
 * slice. The fibers that yield during one slice share one `setImmediate`:
 * one slice is the budget of a whole turn, whatever the number of fibers.
 * (With one `setImmediate` each, Node runs all of them in one check phase,
 * each starting a fresh slice: 50 NAR streams served at once held the loop
 * for 50 slices in a row.) The first fiber resumed works for the slice; the
 * others find it used up and wait for the next turn, in the order they asked.
 */
export const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const cancel = onNextTurn(() => resume(Effect.void))
  return Effect.sync(cancel)
})

/**
 * Calls `f` at the next turn of the event loop, once a new slice has started
 * (with the other callers of the same turn, in order); returns a function
 * that cancels the call. What {@link yieldToEventLoop} and the sliced
 * scheduler (slicedScheduler.ts) wait for.
 */
export const onNextTurn = (f: () => void): () => void => {
  // A fresh function per call: the same `f` asked for twice is called twice.
  const wake = () => f()
  waiting.add(wake)
  if (turn === undefined) turn = setImmediate(nextTurn)
  return () => {
    waiting.delete(wake)
    if (waiting.size === 0 && turn !== undefined) {
      clearImmediate(turn)
      turn = undefined
    }
  }
}

/** {@link yieldToEventLoop} when the current slice is used up, else nothing. */
export const yieldIfSliceUsedUp: Effect.Effect<void> = Effect.suspend(
  () => (sliceUsedUp() ? yieldToEventLoop : Effect.void)
)

/**
 * Runs a resumable synchronous job in slices: `step(due)` works until it is
 * done (returns true) or until `due()` says the slice is used up (returns
 * false, to be called again after the event loop's turn). A slice already
 * used up before the first step (a loop over many small jobs) yields first.
 * What `step` throws fails the effect through `onError`.
 */
export const runInSlices = <E>(
  step: (due: () => boolean) => boolean,
  onError: (cause: unknown) => E
): Effect.Effect<void, E> => {
  // No generator: the collector runs this once per dead path, most of them a single small file.
  const slice = Effect.try({ try: () => step(sliceUsedUp), catch: onError })
  const loop: Effect.Effect<void, E> = Effect.flatMap(
    slice,
    (done) => (done ? Effect.void : Effect.zipRight(yieldToEventLoop, loop))
  )
  return Effect.zipRight(yieldIfSliceUsedUp, loop)
}
