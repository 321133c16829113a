/**
 * Runs one tsnix command line: parse, resolve settings and store, dispatch,
 * and turn every failure into one `error: …` line and an exit status.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Either, Option } from "effect"
import { parseArgv, type ParsedArgs, UsageError } from "./argv.js"
import { Cli, ExitWith } from "./context.js"
import { helpText } from "./help.js"
import { cliLoggerLayer } from "./logger.js"
import { operations } from "./operations.js"
import { isBinaryCacheUri } from "../stores/fromUri.js"
import * as StoreFromUri from "../stores/fromUri.js"
import { parseNixConf, type ConfAssignment } from "../config/nixConf.js"
import { resolveSettings } from "../config/settings.js"
import { versionLine } from "../version.js"
import { BrokenPipe, writeStdout } from "./io.js"
import { withoutNodeErrnoText } from "../core/sysError.js"
import * as ProgressLive from "../layers/Progress.js"

const collectAssignments = (parsed: ParsedArgs) =>
  Effect.gen(function*() {
    const out: Array<ConfAssignment> = []
    const envConf = process.env["NIX_CONFIG"]
    if (envConf !== undefined) out.push(...(yield* parseNixConf(envConf, "NIX_CONFIG")))
    for (const [name, value] of parsed.options) {
      const append = name.startsWith("extra-")
      out.push({ name: append ? name.slice(6) : name, value, append, line: 0 })
    }
    return out
  })

/** The text of an `error: …` line: the failure's message, with any Node errno wording put in Nix's. */
const describeFailure = (e: unknown): string => {
  if (typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" && e.message !== "") {
    return withoutNodeErrnoText(e.message)
  }
  if (typeof e === "object" && e !== null && "_tag" in e) return String(e._tag)
  return String(e)
}

/** Runs the command line `argv` (without node and script) and returns the exit status. */
export const runCli = (argv: ReadonlyArray<string>): Effect.Effect<number> => {
  const preParsed = parseArgv(argv)
  const verbosity = Either.isRight(preParsed) ? preParsed.right.verbosity : 0
  const program = Effect.gen(function*() {
    const parsed = yield* preParsed
    if (parsed.flags.has("help") || parsed.operation === "help") {
      yield* writeStdout(helpText)
      return 0
    }
    if (parsed.flags.has("version") || parsed.operation === "version") {
      yield* writeStdout(`${versionLine}\n`)
      return 0
    }
    if (parsed.operation === undefined) {
      return yield* new UsageError({ message: "no operation specified" })
    }
    const { settings, unknown } = yield* resolveSettings(yield* collectAssignments(parsed))
    for (const name of unknown) yield* Effect.logWarning(`unknown setting '${name}'`)
    // `copy` and `store verify|sign` open `--store` themselves (it may be a binary cache); the others need a
    // local or daemon store.
    const storeArg = parsed.values.get("store")
    const opensItsOwn = (parsed.operation === "copy" || parsed.operation === "store") && storeArg !== undefined &&
      isBinaryCacheUri(storeArg)
    const store = yield* StoreFromUri.resolve(opensItsOwn ? undefined : storeArg).pipe(
      Effect.catchTag("InvalidStoreUriError", (e) => Effect.fail(new UsageError({ message: e.message })))
    )
    const op = operations[parsed.operation]
    if (op === undefined) {
      return yield* new UsageError({ message: `operation '${parsed.operation}' is not supported by tsnix yet` })
    }
    const { layout } = store
    yield* op.pipe(
      Effect.provideService(Cli, { parsed, settings, layout, store }),
      Effect.provide(ProgressLive.layerStderr)
    )
    return 0
  })
  return program.pipe(
    Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        if (Cause.isInterruptedOnly(cause)) return 130
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure)) {
          const e: unknown = failure.value
          if (e instanceof ExitWith) return e.status
          if (e instanceof BrokenPipe) return 0
          // An expected (typed) failure: its message only, whatever the verbosity; stack traces are for defects.
          process.stderr.write(`error: ${describeFailure(e)}\n`)
          if (e instanceof UsageError) process.stderr.write("Try 'tsnix --help' for more information.\n")
          return 1
        }
        const defect = Cause.squash(cause)
        process.stderr.write(`error: ${describeFailure(defect)}\n`)
        if (verbosity > 0) process.stderr.write(`${Cause.pretty(cause)}\n`)
        return 1
      })
    ),
    Effect.provide(cliLoggerLayer(verbosity))
  )
}
