/**
 * Typed errors of store operations (besides the database's and the NAR codec's own).
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** A path that should be valid is not. */
export class InvalidPathError extends Data.TaggedError("InvalidPathError")<{ readonly path: string }> {
  override get message() {
    return `path '${this.path}' is not valid`
  }
}

/** A path is still referenced by other valid paths, so it cannot be invalidated or deleted. */
export class PathInUseError extends Data.TaggedError("PathInUseError")<{
  readonly path: string
  readonly referrers: ReadonlyArray<string>
}> {
  override get message() {
    return `cannot delete path '${this.path}' since it is still alive (referenced by ${this.referrers.length} path(s), e.g. '${this.referrers[0] ?? ""}')`
  }
}

/** A file operation on the store's files failed. */
export class StoreIoError extends Data.TaggedError("StoreIoError")<{
  readonly path: string
  readonly operation: string
  readonly cause: unknown
}> {
  override get message() {
    const c = this.cause as { code?: string; message?: string } | undefined
    if (c?.code === "ENOENT") return `${this.operation} '${this.path}': No such file or directory`
    return `${this.operation} '${this.path}': ${c?.message ?? String(this.cause)}`
  }
}

/** The contents of a valid path no longer match its registered NAR hash. */
export class HashMismatchError extends Data.TaggedError("HashMismatchError")<{
  readonly path: string
  readonly expected: string
  readonly actual: string
}> {
  override get message() {
    return `path '${this.path}' was modified! expected hash '${this.expected}', got '${this.actual}'`
  }
}

/** An export stream (nix-store --export format) is malformed. Nothing was registered. */
export class BadExportStreamError extends Data.TaggedError("BadExportStreamError")<{
  readonly reason: string
  readonly offset?: number
}> {
  override get message() {
    return `import failed: ${this.reason}${this.offset === undefined ? "" : ` (at byte ${this.offset})`}`
  }
}

/** A store path's references are not valid paths. */
export class DanglingReferenceError extends Data.TaggedError("DanglingReferenceError")<{
  readonly path: string
  readonly reference: string
}> {
  override get message() {
    return `cannot add path '${this.path}' because it references path '${this.reference}', which is not valid`
  }
}

/** Text input (dump-db, register-validity) is malformed. */
export class BadInputError extends Data.TaggedError("BadInputError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}
