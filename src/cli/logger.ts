/**
 * The CLI's logger: plain lines on standard error, as Nix prints them.
 *
 * `warning: …` for warnings, `error: …` for errors, the bare message for
 * information and debug output. The minimum level follows `-v` as Nix's
 * verbosity does: informational messages by default (Nix's lvlInfo), debug
 * with `-v`, everything with `-vv`.
 *
 * @since 0.1.0
 */
import { Cause, HashMap, Layer, Logger, LogLevel } from "effect"

const render = (message: unknown): string => {
  if (Array.isArray(message)) return message.map(render).join(" ")
  if (typeof message === "string") return message
  if (message instanceof Error) return message.message
  return String(message)
}

/** A logger that writes `warning: msg` / `error: msg` / `msg` lines to stderr. */
export const stderrLogger = Logger.make(({ annotations, cause, logLevel, message }) => {
  let text = render(message)
  if (!Cause.isEmpty(cause)) text += ` ${Cause.pretty(cause)}`
  const extra = HashMap.toEntries(annotations).map(([k, v]) => `${k}=${String(v)}`)
  if (extra.length > 0 && LogLevel.lessThanEqual(logLevel, LogLevel.Debug)) text += ` (${extra.join(", ")})`
  const prefix = logLevel._tag === "Warning" ? "warning: " : logLevel._tag === "Error" || logLevel._tag === "Fatal"
    ? "error: "
    : ""
  // On a terminal, erase a progress line that may be showing before printing.
  process.stderr.write(`${process.stderr.isTTY ? "\r\x1b[K" : ""}${prefix}${text}\n`)
})

/** Level for a verbosity count: 0 → Info, 1 → Debug, 2+ → All. */
export const levelForVerbosity = (verbosity: number): LogLevel.LogLevel =>
  verbosity <= 0 ? LogLevel.Info : verbosity === 1 ? LogLevel.Debug : LogLevel.All

/**
 * Replaces the default logger with {@link stderrLogger} at the level for
 * `verbosity`, and drops Effect's tracer logger: it records every log line as
 * an event of the current span, kept until the span ends, and the CLI exports
 * no spans. `--verify --check-contents` of 100k paths, one "was modified"
 * line per path inside the `Store.verifyStore` span, held ~200 MB that way.
 */
export const cliLoggerLayer = (verbosity: number): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, stderrLogger),
    Logger.remove(Logger.tracerLogger),
    Logger.minimumLogLevel(levelForVerbosity(verbosity))
  )
