import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { cliLoggerLayer } from "../../src/cli/logger.js"
import { nixInfo, nixLog } from "../../src/core/nixLog.js"

/** Logs `n` lines inside a span and returns the span's recorded events (Effect's native spans keep them). */
const logInSpan = (n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* Effect.logDebug(`line ${i}`)
    const span = yield* Effect.currentSpan
    return (span as unknown as { readonly events: ReadonlyArray<unknown> }).events.length
  }).pipe(Effect.withSpan("long operation"))

describe("cliLoggerLayer", () => {
  it.effect("log lines are not kept as span events (a 100k-line operation would hold them all)", () =>
    Effect.gen(function*() {
      // Effect's default loggers (the console one silenced here): every line becomes an event of the current span.
      const defaults = Layer.merge(
        Logger.replace(Logger.defaultLogger, Logger.none),
        Logger.minimumLogLevel(LogLevel.Debug)
      )
      expect(yield* logInSpan(5).pipe(Effect.provide(defaults))).toBe(5)
      // The CLI's logger layer prints them (at -v) and keeps none.
      const quiet = cliLoggerLayer(1)
      const original = process.stderr.write.bind(process.stderr)
      const printed: Array<string> = []
      process.stderr.write = ((chunk: string) => (printed.push(String(chunk)), true)) as typeof process.stderr.write
      try {
        expect(yield* logInSpan(5).pipe(Effect.provide(quiet))).toBe(0)
      } finally {
        process.stderr.write = original
      }
      expect(printed.filter((l) => l.startsWith("line "))).toHaveLength(5)
    }))
})

/** The stderr lines `effect` prints under the CLI's logger at `verbosity`. */
const printedAt = (verbosity: number, effect: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const original = process.stderr.write.bind(process.stderr)
    const printed: Array<string> = []
    process.stderr.write = ((
      chunk: string
    ) => (printed.push(String(chunk).replace(`\r${String.fromCharCode(27)}[K`, "")),
      true)) as typeof process.stderr.write
    try {
      yield* effect.pipe(Effect.provide(cliLoggerLayer(verbosity)))
    } finally {
      process.stderr.write = original
    }
    return printed
  })

describe("library log lines at their Nix level", () => {
  const lines = Effect.gen(function*() {
    yield* nixInfo("info line")
    yield* nixLog("talkative", "talkative line")
    yield* nixLog("debug", "debug line")
    yield* Effect.logDebug("plain debug")
  })

  it.effect("the CLI shows Nix's info lines by default", () =>
    Effect.map(printedAt(0, lines), (p) => expect(p).toEqual(["info line\n"])))

  it.effect("talkative lines with -v", () =>
    Effect.map(printedAt(1, lines), (p) => expect(p).toEqual(["info line\n", "talkative line\n", "plain debug\n"])))

  it.effect("debug lines with -vv", () =>
    Effect.map(
      printedAt(2, lines),
      (p) => expect(p).toEqual(["info line\n", "talkative line\n", "debug line\n", "plain debug\n"])
    ))

  it.effect("a library user's default logger (minimum Info) gets none of them", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const collecting = Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void seen.push(message)))
      yield* lines.pipe(Effect.provide(collecting))
      expect(seen).toEqual([])
    }))
})
