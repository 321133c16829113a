/**
 * The Builder's options for a CLI invocation: the settings (NIX_CONFIG,
 * `--option`), then the command-line flags that override them as Nix's
 * common options do (`-j/--max-jobs`, `--cores`, `--timeout`,
 * `--max-silent-time`, `-K/--keep-failed`, `-k/--keep-going`). The builder's
 * output and progress lines go to stderr, as nix-store prints them.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { Buffer } from "node:buffer"
import * as os from "node:os"
import { filterAnsiEscapes } from "../builder/structuredLog.js"
import { Settings, settingNames } from "../config/schema.js"
import type { BuildOptions } from "../services/Builder.js"
import { UsageError } from "./argv.js"
import { Cli } from "./context.js"

const uint = (flag: string, v: string | undefined, fallback: number) =>
  Effect.suspend(() => {
    if (v === undefined) return Effect.succeed(fallback)
    if (!/^[0-9]+$/.test(v)) {
      return Effect.fail(new UsageError({ message: `flag '--${flag}' requires an integer argument` }))
    }
    return Effect.succeed(Number(v))
  })

const newline = Buffer.from("\n")

const stderrIsTty = () => process.stderr.isTTY === true

/** The settings as `name = value` lines, sorted by name (Nix's `toKeyValue`, the hook's NIX_CONFIG). */
export const settingsKeyValue = (settings: Settings): string => {
  const text = Schema.encodeSync(Settings)(settings)
  const seen = new Set<string>()
  const lines: Array<string> = []
  for (const [name, field] of Object.entries(settingNames)) {
    if (seen.has(field)) continue // the first name of a field is its own, the others aliases
    seen.add(field)
    lines.push(`${name} = ${String(text[field])}\n`)
  }
  return lines.sort().join("")
}

/** The options of `buildDerivations` for the current invocation (`check` from `--check`). */
export const cliBuildOptions = Effect.gen(function*() {
  const { parsed, settings } = yield* Cli
  const jobsText = parsed.values.get("max-jobs")
  const maxJobs = jobsText === "auto"
    ? os.cpus().length
    : yield* uint("max-jobs", jobsText, settings.maxJobs === "auto" ? os.cpus().length : settings.maxJobs)
  const options: BuildOptions = {
    maxJobs,
    cores: yield* uint("cores", parsed.values.get("cores"), settings.cores),
    timeout: yield* uint("timeout", parsed.values.get("timeout"), settings.timeout),
    maxSilentTime: yield* uint("max-silent-time", parsed.values.get("max-silent-time"), settings.maxSilentTime),
    keepFailed: parsed.flags.has("keep-failed") || settings.keepFailed,
    keepGoing: parsed.flags.has("keep-going") || settings.keepGoing,
    check: parsed.flags.has("check"),
    cacheFailure: settings.buildCacheFailure,
    sandbox: settings.sandbox,
    sandboxFallback: settings.sandboxFallback,
    sandboxPaths: settings.sandboxPaths.split(/\s+/).filter((s) => s !== ""),
    keepBuildLog: settings.keepBuildLog,
    compressBuildLog: settings.compressBuildLog,
    maxLogSize: settings.maxBuildLogSize,
    repeat: yield* uint("repeat", parsed.values.get("repeat"), settings.repeat),
    enforceDeterminism: settings.enforceDeterminism,
    postBuildHook: settings.postBuildHook,
    hookNixConfig: settingsKeyValue(settings),
    secretKeyFiles: settings.secretKeyFiles,
    // As Nix's simple logger: the builder's output line by line (`@nix` lines handled), escapes
    // filtered and tabs expanded unless stderr is a terminal.
    onLogLine: (line) => process.stderr.write(Buffer.concat([filterAnsiEscapes(line, !stderrIsTty()), newline])),
    onInfo: (line) =>
      process.stderr.write(Buffer.concat([filterAnsiEscapes(Buffer.from(line), !stderrIsTty()), newline])),
    onError: (message) => process.stderr.write(`error: ${message.split("\n").join("\n       ")}\n`)
  }
  return options
})
