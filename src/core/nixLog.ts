/**
 * Library log lines that Nix prints at one of its verbosity levels.
 *
 * The library logs them at Debug (Nix's info and error messages) or Trace
 * (Nix's talkative and debug messages), so a program using tsnix sees none of
 * them by default; each carries its Nix level in the `nixLevel` annotation, so
 * the CLI can print them as nix-store does (info by default, talkative with
 * `-v`, debug with `-vv`).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"

/** Nix's verbosity levels a library message can have. */
export type NixLevel = "error" | "info" | "talkative" | "debug"

/** The annotation that carries a message's Nix level. */
export const nixLevelAnnotation = "nixLevel"

/** Logs `message` as a message Nix prints at `level` (see the module comment). */
export const nixLog = (level: NixLevel, message: string): Effect.Effect<void> =>
  Effect.annotateLogs(
    level === "talkative" || level === "debug" ? Effect.logTrace(message) : Effect.logDebug(message),
    nixLevelAnnotation,
    level
  )

/** A message Nix prints at its info level (`nix-store` shows it without `-v`). */
export const nixInfo = (message: string): Effect.Effect<void> => nixLog("info", message)

/**
 * Nix's `printError`: a message at error level printed WITHOUT the `error: `
 * prefix (that prefix is only for the failure that ends a command). The CLI
 * logger prefixes Effect's Error level, so these go out at Info level.
 */
export const nixPrintError = (message: string): Effect.Effect<void> => nixInfo(message)
