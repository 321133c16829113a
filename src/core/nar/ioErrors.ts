/**
 * Typed errors of NAR dumping and restoring.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import { NarParseError } from "./errors.js"

export { NarParseError }
export type { NarParseErrorKind } from "./errors.js"

const causeText = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message
  return cause === undefined ? "" : String(cause)
}

/** Why dumping a path failed. */
export type NarDumpErrorKind =
  /** A socket, FIFO, or device node: NARs cannot hold them. */
  | "UnsupportedFileType"
  /** A regular file became shorter while it was being read. */
  | "FileChanged"
  /** The file system reported an error (missing path, permission denied…). */
  | "Io"

/** Serialising a file tree as a NAR failed. */
export class NarDumpError extends Data.TaggedError("NarDumpError")<{
  readonly kind: NarDumpErrorKind
  readonly path: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const c = causeText(this.cause)
    return `dumping '${this.path}': ${this.detail}${c === "" ? "" : `: ${c}`}`
  }
}

/** Why restoring a NAR into the file system failed (besides a malformed archive). */
export type NarRestoreFsErrorKind =
  /** The target path already exists (restore never overwrites). */
  | "TargetExists"
  /** Creating or writing a file, directory or symlink failed. */
  | "Io"

/** Restoring a NAR failed on the file-system side. */
export class NarRestoreFsError extends Data.TaggedError("NarRestoreFsError")<{
  readonly kind: NarRestoreFsErrorKind
  readonly path: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const c = causeText(this.cause)
    return `restoring '${this.path}': ${this.detail}${c === "" ? "" : `: ${c}`}`
  }
}

/** Any error of {@link restorePath}: a malformed archive or a file-system failure. */
export type NarRestoreError = NarParseError | NarRestoreFsError

/** Writing a NAR to a Node stream (e.g. stdout) failed. */
export class NarWriteError extends Data.TaggedError("NarWriteError")<{ readonly cause: unknown }> {
  override get message(): string {
    return `writing NAR: ${causeText(this.cause)}`
  }
}
