/**
 * `post-build-hook`, as Nix 2.8's `runPostBuildHook`: after each successful
 * build (each round of `--repeat`, and `--check`), the hook program runs
 * with the caller's environment plus `DRV_PATH`, `OUT_PATHS` (the built
 * outputs, sorted, space-separated) and `NIX_CONFIG` (the settings). It is
 * announced with `running post-build-hook '…'...`; its stdout and stderr,
 * merged, are printed line by line as `post-build-hook: LINE` (a last line
 * without `\n` gets one added, so Nix prints an empty line after it). A
 * hook that fails is an error `program '…' failed with exit code N`
 * (nix-store exits 1); the outputs stay registered.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import { Buffer } from "node:buffer"
import { runChild } from "./child.js"

/** The hook could not run or failed (Nix's ExecError message). */
export class PostBuildHookError extends Data.TaggedError("PostBuildHookError")<{ readonly message: string }> {}

const signalNumbers: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGTERM: 15
}

/** Runs the hook (see the module comment); `onLine` gets each `post-build-hook: …` line, `onInfo` the announcement. */
export const runPostBuildHook = (args: {
  readonly hook: string
  readonly drvPath: string
  readonly outPaths: ReadonlyArray<string>
  readonly nixConfig: string
  readonly onInfo: (line: string) => void
}): Effect.Effect<void, PostBuildHookError> =>
  Effect.gen(function*() {
    const { hook } = args
    args.onInfo(`running post-build-hook '${hook}'...`)
    let current: Array<number> = []
    const flushLine = () => {
      args.onInfo(`post-build-hook: ${Buffer.from(current).toString("utf8")}`)
      current = []
    }
    // stdout and stderr merged into one pipe, as Nix's runProgram2 with mergeStderrToStdout.
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
    env["DRV_PATH"] = args.drvPath
    env["OUT_PATHS"] = [...args.outPaths].sort().join(" ").trimEnd()
    env["NIX_CONFIG"] = args.nixConfig
    const outcome = yield* runChild({
      command: hook,
      args: [],
      env,
      cwd: process.cwd(),
      timeout: 0,
      maxSilentTime: 0,
      maxLogSize: 0,
      onOutput: (chunk) => {
        for (const c of chunk) {
          if (c === 0x0a) flushLine()
          else current.push(c)
        }
      }
    }).pipe(Effect.mapError((e) => new PostBuildHookError({ message: e.message })))
    if (current.length > 0) {
      current.push(0x0a)
      flushLine()
    }
    switch (outcome._tag) {
      case "SpawnFailed":
        return yield* new PostBuildHookError({ message: `executing '${hook}': ${outcome.reason}` })
      case "Exited":
        if (outcome.code === 0) return
        return yield* new PostBuildHookError({
          message: `program '${hook}' ${
            outcome.signal !== null
              ? `failed due to signal ${signalNumbers[outcome.signal] ?? outcome.signal} (${outcome.signal})`
              : `failed with exit code ${outcome.code ?? 1}`
          }`
        })
      default:
        return yield* new PostBuildHookError({ message: `program '${hook}' failed` })
    }
  })
