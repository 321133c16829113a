/**
 * The shape of a CLI operation.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { Cli } from "./context.js"

/** Any typed failure an operation can report: tagged, with a message. */
export interface Failure {
  readonly _tag: string
  readonly message: string
}

/** An operation: runs for the current {@link Cli} invocation. */
export type Operation = Effect.Effect<void, Failure, Cli>
