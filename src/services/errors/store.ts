/**
 * Typed errors of store operations (besides the database's and the NAR codec's own).
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import { sysErrorText } from "../../core/sysError.js"

/** The message of a failed file operation: `OPERATION 'PATH': REASON` (errno spelt as Nix does). */
export const ioFailureMessage = (operation: string, path: string, cause: unknown): string =>
  `${operation} '${path}': ${sysErrorText(cause)}`

/** A file operation on the store's files failed. */
export class StoreIoError extends Data.TaggedError("StoreIoError")<{
  readonly path: string
  readonly operation: string
  readonly cause: unknown
}> {
  override get message() {
    return ioFailureMessage(this.operation, this.path, this.cause)
  }
}

/**
 * The contents of a valid path no longer match its registered NAR hash.
 * Hashes are in Nix's message form (`sha256:<nix32>`); `during` picks Nix's
 * wording: export-import.cc's for `export`, verify's otherwise.
 */
export class HashMismatchError extends Data.TaggedError("HashMismatchError")<{
  readonly path: string
  readonly expected: string
  readonly actual: string
  readonly during?: "export" | "verify"
}> {
  override get message() {
    return this.during === "export"
      ? `hash of path '${this.path}' has changed from '${this.expected}' to '${this.actual}'!`
      : `path '${this.path}' was modified! expected hash '${this.expected}', got '${this.actual}'`
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

/** Text input (dump-db, register-validity) is malformed. */
export class BadInputError extends Data.TaggedError("BadInputError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/**
 * A path cannot be deleted: it is a temporary root of a running process
 * (which may be about to use it). Nothing was deleted.
 */
export class PathIsTempRootError extends Data.TaggedError("PathIsTempRootError")<{
  readonly path: string
}> {
  override get message() {
    return `cannot delete path '${this.path}' since it is a temporary root of a running process`
  }
}

/**
 * A temporary copy no longer holds what was written into it (entries or bytes
 * went missing before it was moved into place: a collector deleted part of
 * it). Carried as the `cause` of a {@link CanonicaliseError}; nothing is
 * registered.
 */
export class TemporaryChangedError extends Data.TaggedError("TemporaryChangedError")<{
  readonly path: string
  readonly written: { readonly entries: number; readonly bytes: number }
  readonly found: { readonly entries: number; readonly bytes: number }
}> {
  override get message() {
    return `the temporary copy changed while it was being added (written: ${this.written.entries} entries, ` +
      `${this.written.bytes} bytes; found: ${this.found.entries} entries, ${this.found.bytes} bytes); ` +
      `something deleted part of it, so it is not registered`
  }
}

/** Changing the metadata of a file under the store failed. */
export class CanonicaliseError extends Data.TaggedError("CanonicaliseError")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message() {
    return `canonicalising '${this.path}': ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}
