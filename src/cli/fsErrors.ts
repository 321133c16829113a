/**
 * File-system failures while reading a command-line argument's tree (adding,
 * hashing, dumping it), worded as Nix words them: `opening directory
 * '/abs/x': Permission denied` rather than the NAR walker's
 * `dumping 'x': reading directory: …`.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import * as path from "node:path"
import { errnoCode, strerror } from "../core/sysError.js"
import { NarDumpError } from "../core/nar/ioErrors.js"

/** A system call on an argument's files failed (Nix's wording in `message`). */
export class ArgumentFsError extends Data.TaggedError("ArgumentFsError")<{ readonly message: string }> {}

/** The NAR walker's step → Nix's wording for the same system call. */
const nixOperation: Readonly<Record<string, string>> = {
  "getting status": "getting status of",
  "opening file": "opening file",
  "reading file": "reading file",
  "reading symlink": "reading symbolic link",
  "reading directory": "opening directory"
}

/**
 * Rewords a NAR walk's system-call failure as Nix does; `absolute` names the
 * file by its absolute path (Nix's `addToStore` makes the argument absolute,
 * nix-hash and `--dump` do not). Other failures pass through unchanged.
 */
export const inNixWords =
  (absolute: boolean) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ArgumentFsError, R> =>
    Effect.catchIf(
      effect,
      (e): e is E & NarDumpError => e instanceof NarDumpError && reworded(e, absolute) !== undefined,
      (e) => Effect.fail(new ArgumentFsError({ message: reworded(e, absolute) ?? e.message }))
    )

/** Nix's message for a walk failure, when it is a system call's. */
const reworded = (e: NarDumpError, absolute: boolean): string | undefined => {
  const op = nixOperation[e.detail]
  const code = errnoCode(e.cause)
  if (e.kind !== "Io" || op === undefined || code === undefined) return undefined
  return `${op} '${absolute ? path.resolve(e.path) : e.path}': ${strerror(code) ?? code}`
}
