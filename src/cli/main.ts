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
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { runCli } from "./run.js"

// As every Nix command (libmain's initNix: "there is no privacy in the Nix system"): files the
// command creates (restored trees, the database, locks, roots) are readable by everybody.
process.umask(0o022)

// Write errors (EPIPE when the reader goes away) are reported to the writer through
// its callback (see io.ts); this listener only keeps them from crashing the process.
process.stdout.on("error", () => undefined)

NodeRuntime.runMain(
  runCli(process.argv.slice(2)).pipe(Effect.map((status) => {
    process.exitCode = status
  })),
  {
    disableErrorReporting: true,
    disablePrettyLogger: true,
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
