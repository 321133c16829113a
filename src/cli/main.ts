#!/usr/bin/env node
/**
 * The `tsnix` executable's entry point.
 *
 * SIGINT and SIGTERM interrupt the running operation (so transactions roll
 * back and locks are released) through NodeRuntime.runMain; the process then
 * exits with status 130, as a shell expects after Ctrl-C.
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { runCli } from "./run.js"

NodeRuntime.runMain(
  runCli(process.argv.slice(2)).pipe(Effect.map((status) => {
    process.exitCode = status
  })),
  {
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      if (Exit.isSuccess(exit)) return onExit(0)
      if (Cause.isInterruptedOnly(exit.cause)) {
        process.stderr.write("error: interrupted by the user\n")
        return onExit(130)
      }
      process.stderr.write(`error: ${Cause.pretty(exit.cause)}\n`)
      return onExit(1)
    }
  }
)
