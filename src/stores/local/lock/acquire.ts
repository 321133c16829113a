/**
 * Waiting for a lock without blocking: repeated non-blocking attempts spaced
 * by a short jittered exponential backoff, interruptible between attempts,
 * with a delayed "waiting for …" log message and an optional timeout.
 *
 * Shared by the live (flock) and test (in-memory) layers, so both wait the
 * same way.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Fiber, Option, Schedule, Scope } from "effect"
import { nixInfo } from "../../../core/nixLog.js"
import { LockTimeoutError } from "../../../services/Lock.js"
import type { LockWaitOptions } from "../../../services/Lock.js"

/** The marker failure of a non-blocking attempt that found the lock taken. */
export class Busy {
  /** Discriminator. */
  readonly _tag = "Busy"
}

/** The single {@link Busy} value. */
export const busy: Busy = new Busy()

/** Whether `e` is {@link Busy}. */
export const isBusy = (e: unknown): e is Busy => e instanceof Busy

/** Delays between attempts: 2 ms doubling, capped at 50 ms, jittered (×0.8–1.2). */
export const backoff: Schedule.Schedule<unknown> = Schedule.exponential("2 millis", 2).pipe(
  Schedule.either(Schedule.spaced("50 millis")),
  Schedule.jittered
)

/** Delay before the "waiting for …" message when none is given. */
export const defaultMessageDelay: Duration.DurationInput = "1 second"

/**
 * Runs `attempt` (non-blocking; fails with {@link Busy} when the lock is taken)
 * until it succeeds. The first attempt runs at once; later ones follow
 * {@link backoff}; the sleeps between them are interruptible. After
 * `messageDelay` of waiting, `waitMessage` (or `defaultMessage`) is logged at
 * info level. With a `timeout`, fails with {@link LockTimeoutError} once it has
 * elapsed (a timeout of 0 means a single attempt).
 */
export const waitFor = <A, E, R>(
  attempt: Effect.Effect<A, E | Busy, R>,
  lock: string,
  defaultMessage: string,
  options: LockWaitOptions = {}
): Effect.Effect<A, E | LockTimeoutError, R> => {
  const timeout = options.timeout === undefined ? undefined : Duration.decode(options.timeout)
  const timedOut = () =>
    Effect.fail(
      new LockTimeoutError({ lock, timeoutMillis: timeout === undefined ? Infinity : Duration.toMillis(timeout) })
    )
  const schedule = timeout === undefined ? backoff : backoff.pipe(Schedule.upTo(timeout))
  const message = options.waitMessage ?? defaultMessage
  const waiting = Effect.gen(function*() {
    const logger = yield* Effect.fork(
      nixInfo(message).pipe(
        Effect.annotateLogs("lock", lock),
        Effect.delay(options.messageDelay ?? defaultMessageDelay)
      )
    )
    return yield* attempt.pipe(Effect.retry({ schedule, while: isBusy }), Effect.ensuring(Fiber.interrupt(logger)))
  })
  return attempt.pipe(
    Effect.catchIf(
      isBusy,
      () => (timeout !== undefined && Duration.toMillis(timeout) <= 0 ? Effect.fail(busy) : waiting)
    ),
    Effect.catchIf(isBusy, timedOut)
  )
}

/**
 * Acquires a resource with {@link waitFor}. `attempt` must not block: it
 * yields `Some` when the resource is now owned, `None` when it is taken. Each
 * attempt runs uninterruptibly together with the registration of `release`
 * in the current scope, so an owned resource is always released.
 */
export const acquireWaiting = <A, E, R>(
  attempt: Effect.Effect<Option.Option<A>, E, R>,
  release: (a: A) => Effect.Effect<void>,
  lock: string,
  defaultMessage: string,
  options?: LockWaitOptions
): Effect.Effect<A, E | LockTimeoutError, R | Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) =>
    waitFor(
      Effect.uninterruptible(
        Effect.flatMap(
          attempt,
          (o): Effect.Effect<A, Busy> =>
            Option.isNone(o) ? Effect.fail(busy) : Effect.as(Scope.addFinalizer(scope, release(o.value)), o.value)
        )
      ),
      lock,
      defaultMessage,
      options
    ))
