/**
 * Progress displays: a status line on a terminal's standard error, or
 * nothing.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { Progress, type ProgressReport, type ProgressShape } from "../services/Progress.js"

const formatCount = (n: number, unit: string | undefined): string =>
  unit === "bytes" ? `${(n / 1048576).toFixed(1)} MiB` : `${n}${unit ? ` ${unit}` : ""}`

/** The status line for a report. */
export const formatReport = (r: ProgressReport): string =>
  r.total !== undefined && r.total > 0
    ? `${r.activity}: ${formatCount(r.done, r.unit)} of ${formatCount(r.total, r.unit)} (${
      Math.floor((r.done / r.total) * 100)
    }%)`
    : `${r.activity}: ${formatCount(r.done, r.unit)}`

/**
 * A display that writes to `out` (a terminal), redrawing at most every
 * `intervalMillis` and erasing its line when cleared.
 */
export const makeTerminal = (
  out: { write: (s: string) => unknown } = process.stderr,
  intervalMillis = 100,
  columns = () => (process.stderr.columns ?? 80)
): ProgressShape => {
  let last = 0
  let shown = false
  return {
    report: (r) =>
      Effect.sync(() => {
        const now = Date.now()
        if (now - last < intervalMillis && r.done !== r.total) return
        last = now
        const line = formatReport(r).slice(0, Math.max(10, columns() - 1))
        out.write(`\r\x1b[K${line}`)
        shown = true
      }),
    clear: Effect.sync(() => {
      if (shown) out.write("\r\x1b[K")
      shown = false
    })
  }
}

/** Draws progress on standard error when it is a terminal; silent otherwise. Cleared when the layer closes. */
export const layerStderr: Layer.Layer<Progress> = Layer.scoped(
  Progress,
  process.stderr.isTTY
    ? Effect.acquireRelease(Effect.sync(() => makeTerminal()), (p) => p.clear)
    : Effect.succeed(silent())
)

function silent(): ProgressShape {
  return { report: () => Effect.void, clear: Effect.void }
}

/** A display that shows nothing. */
export const layerSilent: Layer.Layer<Progress> = Layer.succeed(Progress, silent())
