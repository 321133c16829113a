/**
 * The `Progress` service: reports of long operations' progress.
 *
 * Library code reports through {@link reportProgress}, which does nothing when
 * no Progress service is provided, so services need not require one. The CLI
 * provides a layer that draws one status line on standard error when it is a
 * terminal and nothing otherwise (`src/layers/Progress.ts`).
 *
 * @since 0.1.0
 */
import { Context, Effect, Option } from "effect"

/** What a long operation has done so far. */
export interface ProgressReport {
  /** What is being done, e.g. "checking store hashes". */
  readonly activity: string
  /** Units done so far. */
  readonly done: number
  /** Units expected, when known. */
  readonly total?: number | undefined
  /** The unit: paths, bytes, records. */
  readonly unit?: string | undefined
}

/** A sink for progress reports. */
export interface ProgressShape {
  /** Shows the latest state of an activity (called often; implementations throttle). */
  readonly report: (report: ProgressReport) => Effect.Effect<void>
  /** Removes the status display (before normal output, and at the end). */
  readonly clear: Effect.Effect<void>
}

/** The progress display. */
export class Progress extends Context.Tag("tsnix/Progress")<Progress, ProgressShape>() {}

/** Reports progress if a Progress service is provided; otherwise does nothing. */
export const reportProgress = (report: ProgressReport): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.serviceOption(Progress),
    Option.match({
      onNone: () => Effect.void,
      onSome: (p) => p.report(report)
    })
  )

/** Clears the progress display if there is one. */
export const clearProgress: Effect.Effect<void> = Effect.flatMap(
  Effect.serviceOption(Progress),
  Option.match({
    onNone: () => Effect.void,
    onSome: (p) => p.clear
  })
)
