/**
 * Every error class the contracts mention, in one module (`tsnix` exports
 * them all): database, store-operation, garbage-collector and NAR errors.
 *
 * @since 0.1.0
 */
export {
  CorruptInfoFileError,
  CorruptSchemaFileError,
  DanglingReferenceError,
  DatabaseBusyError,
  DbIoError,
  PathInUseError,
  PathNotValidError,
  ReadOnlyStoreError,
  SchemaTooNewError,
  SchemaTooOldError,
  StoreDbError,
  StoreNotWritableError,
  UpgradeLockError
} from "./database.js"
export type { DbFailure } from "./database.js"
export {
  BadExportStreamError,
  BadInputError,
  CanonicaliseError,
  HashMismatchError,
  PathIsTempRootError,
  StoreIoError
} from "./store.js"
export { GcIoError, GcRootRefusedError, GcRootsError, PathAliveError } from "./gc.js"
export { RemoteStoreError, StoreConnectionError, UnsupportedOperationError } from "./remote.js"
export type { RemoteError } from "./remote.js"
export { NarDumpError, NarRestoreFsError, NarWriteError } from "../../core/nar/ioErrors.js"
export { NarParseError } from "../../core/nar/errors.js"
export { InvalidContentAddressError, InvalidStorePathError } from "../../core/storePath.js"
export { DerivationJsonError, DerivationParseError } from "../../core/derivation/errors.js"
export { ReferenceCycleError } from "../../core/topoSort.js"
export { LockIOError, LockPathError, LockTimeoutError } from "../Lock.js"
export type { LockError } from "../Lock.js"
