/**
 * The CLI's logger: plain lines on standard error, as Nix prints them.
 *
 * `warning: …` for warnings, `error: …` for errors, the bare message for
 * information and debug output. The minimum level follows `-v` as Nix's
 * verbosity does: informational messages by default (Nix's lvlInfo), debug
 * with `-v`, everything with `-vv`. The library logs what Nix prints at
 * Debug (or Trace) with its Nix level in the `nixLevel` annotation: the CLI
 * shows each line at its Nix level (info and error by default, talkative
 * with `-v`, debug with `-vv`).
 *
 * @since 0.1.0
 */
import { Cause, HashMap, Layer, Logger, LogLevel } from "effect"
import { nixLevelAnnotation } from "../core/nixLog.js"

const render = (message: unknown): string => {
  if (Array.isArray(message)) return message.map(render).join(" ")
  if (typeof message === "string") return message
  if (message instanceof Error) return message.message
  return String(message)
}

/** The level a line is shown at: its Nix level when the library gave one, else its own. */
export const shownLevel = (logLevel: LogLevel.LogLevel, nixLevel: unknown): LogLevel.LogLevel =>
  nixLevel === "info" || nixLevel === "error"
    ? LogLevel.Info
    : nixLevel === "talkative"
    ? LogLevel.Debug
    : nixLevel === "debug"
    ? LogLevel.Trace
    : logLevel

/** A logger that writes `warning: msg` / `error: msg` / `msg` lines to stderr, down to `minimum` (as shown). */
export const makeStderrLogger = (minimum: LogLevel.LogLevel) =>
  Logger.make(({ annotations, cause, logLevel: raw, message }) => {
    const logLevel = shownLevel(
      raw,
      HashMap.get(annotations, nixLevelAnnotation).pipe((o) => o._tag === "Some" ? o.value : undefined)
    )
    if (LogLevel.lessThan(logLevel, minimum)) return
    let text = render(message)
    if (!Cause.isEmpty(cause)) text += ` ${Cause.pretty(cause)}`
    const extra = HashMap.toEntries(annotations).filter(([k]) => k !== nixLevelAnnotation).map(([k, v]) =>
      `${k}=${String(v)}`
    )
    if (extra.length > 0 && LogLevel.lessThanEqual(logLevel, LogLevel.Debug)) text += ` (${extra.join(", ")})`
    const prefix = logLevel._tag === "Warning" ? "warning: " : logLevel._tag === "Error" || logLevel._tag === "Fatal"
      ? "error: "
      : ""
    // On a terminal, erase a progress line that may be showing before printing.
    process.stderr.write(`${process.stderr.isTTY ? "\r\x1b[K" : ""}${prefix}${text}\n`)
  })

/** {@link makeStderrLogger} down to Info (Nix's default verbosity). */
export const stderrLogger = makeStderrLogger(LogLevel.Info)

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
    Logger.replace(Logger.defaultLogger, makeStderrLogger(levelForVerbosity(verbosity))),
    Logger.remove(Logger.tracerLogger),
    // One level below what is shown: the library's lines come at Debug (Nix's info) and Trace (talkative).
    Logger.minimumLogLevel(verbosity <= 0 ? LogLevel.Debug : LogLevel.All)
  )
