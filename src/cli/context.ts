/**
 * What every CLI operation gets: the parsed command line, the settings and
 * the selected store's layout.
 *
 * @since 0.1.0
 */
import { Context, Data } from "effect"
import type { ParsedArgs } from "./argv.js"
import type { Settings } from "../config/schema.js"
import type { StoreLayout } from "../core/storeLayout.js"
import type { StoreSpec } from "../stores/fromUri.js"

/** The invocation an operation runs for. */
export interface CliInvocation {
  readonly parsed: ParsedArgs
  readonly settings: Settings
  readonly layout: StoreLayout
  /** What `--store` names (a local store at `layout` when undefined). */
  readonly store?: StoreSpec | undefined
}

/** The current CLI invocation. */
export class Cli extends Context.Tag("tsnix/cli/Cli")<Cli, CliInvocation>() {}

/**
 * An operation failed in a way that has already been reported (e.g. `--verify`
 * found problems): exit with `status` without printing anything more.
 */
export class ExitWith extends Data.TaggedError("ExitWith")<{ readonly status: number }> {}
