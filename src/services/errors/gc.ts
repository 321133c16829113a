/**
 * Typed errors of the garbage collector.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import { ioFailureMessage } from "./store.js"

/** A roots directory (or a file inside it) could not be read: the collection is aborted, not skipped. */
export class GcRootsError extends Data.TaggedError("GcRootsError")<{
  /** The file or directory concerned. */
  readonly path: string
  /** What was being done. */
  readonly operation: string
  /** The underlying error. */
  readonly cause: unknown
}> {
  override get message() {
    return ioFailureMessage(this.operation, this.path, this.cause)
  }
}

/** A file operation of the collector on the store directory failed. */
export class GcIoError extends Data.TaggedError("GcIoError")<{
  readonly path: string
  readonly operation: string
  readonly cause: unknown
}> {
  override get message() {
    return ioFailureMessage(this.operation, this.path, this.cause)
  }
}

/** `--delete` of a path that is still alive (Nix 2.8's wording). */
export class PathAliveError extends Data.TaggedError("PathAliveError")<{
  readonly path: string
}> {
  override get message() {
    return `Cannot delete path '${this.path}' since it is still alive. To find out why, use: nix-store --query --roots`
  }
}

/** A root could not be made where it was asked for (Nix's wording). */
export class GcRootRefusedError extends Data.TaggedError("GcRootRefusedError")<{ readonly message: string }> {}
