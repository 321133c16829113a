/**
 * Typed errors of the store metadata database.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** A SQLite operation failed for a reason other than contention (I/O, corruption, constraint…). */
export class StoreDbError extends Data.TaggedError("StoreDbError")<{
  readonly operation: string
  readonly message: string
  readonly cause?: unknown
}> {}

/** The database stayed locked by other processes for longer than the configured bound. */
export class DatabaseBusyError extends Data.TaggedError("DatabaseBusyError")<{
  readonly operation: string
  readonly waitedMillis: number
}> {
  override get message() {
    return `the store database stayed locked for ${this.waitedMillis} ms during ${this.operation}`
  }
}

/** The store was opened read-only (by option or because the state directory is not writable). */
export class ReadOnlyStoreError extends Data.TaggedError("ReadOnlyStoreError")<{
  readonly operation: string
}> {
  override get message() {
    // Operation names of the StoreDb ("clearFailedPaths") read as words ("clear failed paths").
    const what = this.operation.replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a} ${b.toLowerCase()}`)
    return `cannot ${what}: the store database is opened read-only`
  }
}

/** `<state>/db/schema` names a version newer than this program knows. */
export class SchemaTooNewError extends Data.TaggedError("SchemaTooNewError")<{
  readonly schemaFile: string
  readonly version: number
  readonly supported: number
}> {
  override get message() {
    return `current Nix store schema is version ${this.version} (${this.schemaFile}), but tsnix only supports up to ${this.supported}; use a newer tool`
  }
}

/** `<state>/db/schema` names a version too old to upgrade from (Berkeley DB era). */
export class SchemaTooOldError extends Data.TaggedError("SchemaTooOldError")<{
  readonly schemaFile: string
  readonly version: number
}> {
  override get message() {
    return `the Nix store at ${this.schemaFile} has schema version ${this.version} (Berkeley DB), which is no longer supported; upgrade it with Nix 0.12..0.16 first, then run tsnix again`
  }
}

/** `<state>/db/schema` does not hold a version number. */
export class CorruptSchemaFileError extends Data.TaggedError("CorruptSchemaFileError")<{
  readonly schemaFile: string
  readonly content: string
}> {
  override get message() {
    return `${this.schemaFile} does not hold a schema version number (found ${
      JSON.stringify(this.content.slice(0, 40))
    })`
  }
}

/** A schema-5 `db/info/<name>` file (or other upgrade input) cannot be understood. Nothing was changed. */
export class CorruptInfoFileError extends Data.TaggedError("CorruptInfoFileError")<{
  readonly file: string
  readonly reason: string
}> {
  override get message() {
    return `cannot upgrade the store: ${this.file}: ${this.reason} (nothing was changed)`
  }
}

/** Reading or writing a file of the database directory failed. */
export class DbIoError extends Data.TaggedError("DbIoError")<{
  readonly path: string
  readonly operation: string
  readonly cause: unknown
}> {
  override get message() {
    return `${this.operation} ${this.path}: ${String(this.cause)}`
  }
}

/** The caller-supplied upgrade lock (the exclusive big lock) could not be taken. */
export class UpgradeLockError extends Data.TaggedError("UpgradeLockError")<{
  readonly cause: unknown
}> {}

/** A registration refers to a path that is neither valid nor in the same batch. Nothing was registered. */
export class DanglingReferenceError extends Data.TaggedError("DanglingReferenceError")<{
  readonly path: string
  readonly reference: string
}> {
  override get message() {
    return `cannot register ${this.path}: its reference ${this.reference} is not valid`
  }
}

/** A path cannot be invalidated while other valid paths refer to it. */
export class PathInUseError extends Data.TaggedError("PathInUseError")<{
  readonly path: string
  readonly referrers: ReadonlyArray<string>
}> {
  override get message() {
    return `cannot invalidate ${this.path}: it is still referenced by ${this.referrers.join(", ")}`
  }
}

/** An operation needs a valid path and the given one is not. */
export class PathNotValidError extends Data.TaggedError("PathNotValidError")<{
  readonly path: string
}> {
  override get message() {
    return `path '${this.path}' is not valid`
  }
}

/** Errors every database operation can fail with. */
export type DbFailure = StoreDbError | DatabaseBusyError

/** A new store cannot be created: a directory on the way is not writable by this user (or is on a read-only mount). */
export class StoreNotWritableError extends Data.TaggedError("StoreNotWritableError")<{
  /** The directory that could not be written (the nearest existing parent of what was to be created). */
  readonly path: string
  /** What was being created. */
  readonly creating: string
  readonly code: string
}> {
  override get message() {
    const why = this.code === "EROFS" ? "is on a read-only file system" : "is not writable by this user"
    return `cannot create the Nix store: directory '${this.path}' ${why} (creating '${this.creating}')`
  }
}

/** The real store directory or one of its parents is a symlink, which Nix 2.8 refuses (`allow-symlinked-store`). */
export class SymlinkedStoreError extends Data.TaggedError("SymlinkedStoreError")<{
  /** The symlink found. */
  readonly path: string
}> {
  override get message() {
    return `the path '${this.path}' is a symlink; this is not allowed for the Nix store and its parent directories`
  }
}
