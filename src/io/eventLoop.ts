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

/** Gives the event loop a turn (one `setImmediate` round) and starts a new slice. */
export const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => {
    sliceStart = performance.now()
    resume(Effect.void)
  })
  return Effect.sync(() => clearImmediate(handle))
})

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
