/**
 * SQLITE_BUSY detection and the retry policy for contended database work.
 *
 * better-sqlite3 is synchronous, so SQLite's own busy_timeout blocks the event
 * loop. tsnix keeps that timeout short and does the real waiting here, in
 * Effect, with exponential backoff plus jitter.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schedule } from "effect"
import { SqlError } from "@effect/sql/SqlError"
import { DatabaseBusyError } from "../../../services/errors/database.js"

/** SQLite result codes that mean "someone else holds the lock; try again". */
const busyCodes = new Set([
  "SQLITE_BUSY",
  "SQLITE_BUSY_SNAPSHOT",
  "SQLITE_BUSY_RECOVERY",
  "SQLITE_BUSY_TIMEOUT",
  "SQLITE_LOCKED",
  "SQLITE_LOCKED_SHAREDCACHE"
])

/** The SQLite error code carried by an error or its cause chain, if any. */
export const sqliteCode = (e: unknown): string | undefined => {
  let cur: unknown = e
  for (let depth = 0; depth < 5 && cur !== null && typeof cur === "object"; depth++) {
    const code = (cur as { code?: unknown }).code
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code
    cur = (cur as { cause?: unknown }).cause
  }
  return undefined
}

/** Whether an error is SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT or SQLITE_LOCKED (worth retrying). */
export const isBusy = (e: unknown): boolean => {
  if (!(e instanceof SqlError)) return false
  const code = sqliteCode(e.cause)
  return code !== undefined && busyCodes.has(code)
}

/** How long to keep retrying and when to warn. */
export interface BusyPolicy {
  /** Give up (DatabaseBusyError) once this much time has passed waiting. */
  readonly maxWait: Duration.DurationInput
  /** Log a warning once waiting passes this (default one second). */
  readonly warnAfter?: Duration.DurationInput
  /** First backoff delay (default 2 ms); doubles each retry up to `maxDelay`. */
  readonly baseDelay?: Duration.DurationInput
  /** Longest single delay (default 100 ms). */
  readonly maxDelay?: Duration.DurationInput
}

/** The default policy: wait up to ten minutes, warn after one second. */
export const defaultBusyPolicy: BusyPolicy = { maxWait: "10 minutes" }

/** Exponential backoff with jitter, capped per step; outputs the total elapsed time. */
export const busySchedule = (policy: BusyPolicy): Schedule.Schedule<Duration.Duration, unknown> =>
  Schedule.exponential(policy.baseDelay ?? "2 millis", 2).pipe(
    Schedule.union(Schedule.spaced(policy.maxDelay ?? "100 millis")),
    Schedule.jittered,
    Schedule.zipRight(Schedule.elapsed),
    Schedule.whileOutput((elapsed: Duration.Duration) => Duration.lessThan(elapsed, policy.maxWait))
  )

/**
 * Runs `effect` again (whole) while it fails with a busy/locked SqlError, backing
 * off per `policy`; warns once after `warnAfter`; fails with DatabaseBusyError
 * when `maxWait` is exceeded.
 */
export const retryBusy =
  (operation: string, policy: BusyPolicy = defaultBusyPolicy) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError> | SqlError | DatabaseBusyError, R> =>
    // Fast path: no schedule is built unless the first attempt reports busy.
    Effect.catchIf(
      effect,
      (e): e is E & SqlError => isBusy(e),
      () =>
        Effect.suspend(() => {
          const warnAfter = Duration.decode(policy.warnAfter ?? "1 second")
          const started = Date.now()
          let warned = false
          const schedule = busySchedule(policy).pipe(
            Schedule.tapOutput((elapsed) =>
              !warned && Duration.greaterThanOrEqualTo(elapsed, warnAfter)
                ? Effect.sync(() => {
                  warned = true
                }).pipe(Effect.zipRight(Effect.logWarning(`waiting for the store database lock (${operation})…`)))
                : Effect.void
            )
          )
          return Effect.sleep(policy.baseDelay ?? "2 millis").pipe(
            Effect.zipRight(effect),
            Effect.retry({ schedule, while: isBusy }),
            Effect.catchIf(
              (e): e is E & SqlError => isBusy(e),
              () => Effect.fail(new DatabaseBusyError({ operation, waitedMillis: Date.now() - started }))
            )
          )
        })
    ) as Effect.Effect<A, Exclude<E, SqlError> | SqlError | DatabaseBusyError, R>
