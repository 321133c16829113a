/**
 * An Effect scheduler that keeps the event loop turning however many fibers
 * are busy: fibers run in the slices of eventLoop.ts (at most `SLICE_MS` of
 * work, then the event loop gets a turn, so timers and sockets are served).
 *
 * Effect's default scheduler resumes a yielding fiber from a microtask, and
 * each fiber has its own queue: 50 fibers streaming NARs to 50 sockets keep
 * each other running in microtasks, and the loop did not see a socket or a
 * timer for hundreds of milliseconds. Here one queue serves every fiber of
 * the scheduler; a fiber is asked to yield once the slice is used up (looked
 * at every {@link CHECK_EVERY} operations, besides Effect's own op budget),
 * and once it is used up, the queue runs on the next turn instead of in a
 * microtask. Work between two yields (a synchronous compression of a chunk,
 * a socket write) is not cut, so the loop's delay is about a slice plus the
 * longest such step.
 *
 * @since 0.1.0
 */
import { type Fiber, FiberRef, Layer, Scheduler } from "effect"
import { onNextTurn, sliceUsedUp } from "./eventLoop.js"

/** Operations of a fiber between two looks at the slice's clock. */
const CHECK_EVERY = 16

/** The scheduler (see the module documentation); one per thread is enough, it keeps no per-fiber state. */
export class SlicedScheduler implements Scheduler.Scheduler {
  private readonly tasks = new Scheduler.PriorityBuckets()
  private running = false

  /** Whether `fiber` should yield now: its op budget is spent, or the slice is. */
  shouldYield(fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    const ops = fiber.currentOpCount
    const due = ops > fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield) ||
      (ops % CHECK_EVERY === 0 && sliceUsedUp())
    return due ? fiber.getFiberRef(FiberRef.currentSchedulingPriority) : false
  }

  /** Queues `task`; the queue runs in a microtask while the slice lasts, else on the next turn. */
  scheduleTask(task: Scheduler.Task, priority: number): void {
    this.tasks.scheduleTask(task, priority)
    if (!this.running) {
      this.running = true
      this.drainSoon()
    }
  }

  private drainSoon(): void {
    if (sliceUsedUp()) onNextTurn(this.drain)
    else queueMicrotask(this.drain)
  }

  // Runs the queued tasks until the slice is used up; the rest wait for the next turn, ahead of
  // what they queue meanwhile (running them all would give every fiber its own slice in one turn).
  private readonly drain = (): void => {
    const buckets = this.tasks.buckets
    this.tasks.buckets = []
    for (let b = 0; b < buckets.length; b++) {
      const [priority, tasks] = buckets[b] as [number, Array<Scheduler.Task>]
      for (let i = 0; i < tasks.length; i++) {
        if (i + b > 0 && sliceUsedUp()) {
          this.requeue(buckets, b, i, priority)
          this.drainSoon()
          return
        }
        ;(tasks[i] as Scheduler.Task)()
      }
    }
    if (this.tasks.buckets.length === 0) this.running = false
    else this.drainSoon()
  }

  /** Puts back the tasks not run (bucket `b` from task `i` on, and the later buckets) before the new ones. */
  private requeue(buckets: ReadonlyArray<[number, Array<Scheduler.Task>]>, b: number, i: number, priority: number) {
    const queuedMeanwhile = this.tasks.buckets
    this.tasks.buckets = []
    this.tasks.buckets.push([priority, (buckets[b] as [number, Array<Scheduler.Task>])[1].slice(i)])
    for (const bucket of buckets.slice(b + 1)) this.tasks.buckets.push(bucket)
    for (const [p, tasks] of queuedMeanwhile) for (const task of tasks) this.tasks.scheduleTask(task, p)
  }
}

/** The thread's sliced scheduler. */
export const slicedScheduler: SlicedScheduler = new SlicedScheduler()

/** Builds `self` with its fibers (and those they fork, e.g. a server's request fibers) on {@link slicedScheduler}. */
export const withSlicedScheduler = <A, E, R>(self: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.locally(self, FiberRef.currentScheduler, slicedScheduler)
