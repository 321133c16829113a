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
import * as cp from "node:child_process"

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
  Effect.async<void, PostBuildHookError>((resume) => {
    const { hook } = args
    args.onInfo(`running post-build-hook '${hook}'...`)
    let current = ""
    const flushLine = () => {
      args.onInfo(`post-build-hook: ${Buffer.from(current, "latin1").toString("utf8")}`)
      current = ""
    }
    const onData = (d: Buffer) => {
      for (const ch of d.toString("latin1")) {
        if (ch === "\n") flushLine()
        else current += ch
      }
    }
    let child: cp.ChildProcess
    try {
      child = cp.spawn(hook, [], {
        env: {
          ...process.env,
          DRV_PATH: args.drvPath,
          OUT_PATHS: [...args.outPaths].sort().join(" ").trimEnd(),
          NIX_CONFIG: args.nixConfig
        },
        stdio: ["ignore", "pipe", "pipe"]
      })
    } catch (e) {
      resume(Effect.fail(new PostBuildHookError({ message: `executing '${hook}': ${String(e)}` })))
      return
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    let failed: string | undefined
    child.on("error", (e) => {
      failed = `executing '${hook}': ${e.message}`
    })
    child.on("close", (code, signal) => {
      if (current !== "") {
        current += "\n"
        flushLine()
      }
      if (failed !== undefined) return resume(Effect.fail(new PostBuildHookError({ message: failed })))
      if (code === 0) return resume(Effect.void)
      const status = signal !== null
        ? `failed due to signal ${signalNumbers[signal] ?? signal} (${signal})`
        : `failed with exit code ${code ?? 1}`
      resume(Effect.fail(new PostBuildHookError({ message: `program '${hook}' ${status}` })))
    })
    return Effect.sync(() => {
      child.kill("SIGKILL")
    })
  })

