/**
 * The `LocalStore` contract: what only a store whose files and database are
 * on this machine can do (Nix's LocalFSStore / LocalStore): its layout,
 * registering and invalidating paths directly, deleting paths, failed-build
 * records, and optimising. The local layer provides it beside {@link Store}
 * (`stores/local/layer.ts`); a daemon client or a binary cache does not.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect, Stream } from "effect"
import type { StoreLayout } from "../core/storeLayout.js"
import type {
  DanglingReferenceError,
  PathInUseError,
  PathNotValidError,
  ReadOnlyStoreError
} from "./errors/database.js"
import type { NarDumpError, NarRestoreFsError } from "../core/nar/ioErrors.js"
import type { NarParseError } from "../core/nar/errors.js"
import type { ReferenceCycleError } from "../core/topoSort.js"
import type { CanonicaliseError, HashMismatchError, StoreIoError } from "./errors/store.js"
import type { LockError } from "./Lock.js"
import type { DeletePathsError, DeleteResult, QueryError } from "./Store.js"
import type { FailedPath, PathRegistration } from "./StoreDb.js"

/** What an optimisation did (Nix's OptimiseStats). */
export interface OptimiseResult {
  /** Files replaced by a hard link to their `.links` copy. */
  readonly filesLinked: number
  /** The sum of their sizes: nix-store's "freed" figure. */
  readonly bytesFreed: number
  /** The sum of their 512-byte blocks. */
  readonly blocksFreed: number
}

/**
 * Failures of `registerValidPaths` (a reference neither valid nor in the batch: DanglingReferenceError;
 * references forming a cycle: ReferenceCycleError).
 */
export type RegisterValidPathsError = QueryError | ReadOnlyStoreError | DanglingReferenceError | ReferenceCycleError
/** A path to register whose files are in the store already (`--register-validity`, `--load-db`). */
export interface ValidityRegistration {
  readonly path: string
  /** `sha256:<base16>`; computed from the files when undefined. */
  readonly narHash?: string | undefined
  readonly narSize?: number | undefined
  readonly deriver?: string | undefined
  readonly references: ReadonlyArray<string>
  /** For a `.drv`: output name → output path. */
  readonly derivationOutputs?: Readonly<Record<string, string>> | undefined
}

/** Failures of `registerValidity`. */
export type RegisterValidityError = RegisterValidPathsError | CanonicaliseError | NarDumpError

/** Failures of invalidating paths (valid referrers outside the set: PathInUseError). */
export type InvalidatePathsError = QueryError | ReadOnlyStoreError | PathInUseError
/** Failures of writing failed-path records. */
export type FailedPathsError = QueryError | ReadOnlyStoreError
/** Failures of `optimiseStore`. */
export type OptimiseStoreError = QueryError | ReadOnlyStoreError | StoreIoError | LockError
/** Failures of `optimisePath`. */
export type OptimisePathError = OptimiseStoreError | PathNotValidError

/** The local-only operations. */
export interface LocalStoreShape {
  /** The directories this store lives in. */
  readonly layout: StoreLayout
  /** Registers (or re-registers) a batch in one transaction (`--register-validity`, `--load-db`); files are the caller's. */
  readonly registerValidPaths: (infos: ReadonlyArray<PathRegistration>) => Effect.Effect<void, RegisterValidPathsError>
  /**
   * Registers paths whose files are already in the store, in one transaction:
   * canonicalises their files first when `canonicalise`, and computes the NAR
   * hash and size of those given without a hash.
   */
  readonly registerValidity: (
    records: ReadonlyArray<ValidityRegistration>,
    options: { readonly canonicalise: boolean }
  ) => Effect.Effect<void, RegisterValidityError>
  /** Invalidates a set of paths in one transaction; referrers outside the set make it fail (PathInUseError). */
  readonly invalidatePaths: (paths: ReadonlyArray<string>) => Effect.Effect<void, InvalidatePathsError>
  /**
   * Deletes paths: invalidates them (referrers first) in one transaction, then
   * removes their files. Refuses paths that other valid paths outside the set
   * refer to (PathInUseError), or that are temporary roots of running
   * processes (PathIsTempRootError). (Liveness with respect to GC roots is
   * the GcStore's job.)
   */
  readonly deletePaths: (paths: ReadonlyArray<string>) => Effect.Effect<DeleteResult, DeletePathsError>
  readonly registerFailedPaths: (paths: ReadonlyArray<string>, time?: number) => Effect.Effect<void, FailedPathsError>
  readonly isFailedPath: (path: string) => Effect.Effect<boolean, QueryError>
  readonly queryFailedPaths: Effect.Effect<ReadonlyArray<FailedPath>, QueryError>
  /** Clears the given failed paths, or all of them. */
  readonly clearFailedPaths: (paths: ReadonlyArray<string> | "all") => Effect.Effect<void, FailedPathsError>
  /**
   * nix-store --optimise: replaces identical files of all valid paths by hard
   * links to one copy under `STORE/.links/`.
   */
  readonly optimiseStore: () => Effect.Effect<OptimiseResult, OptimiseStoreError>
  /** Optimises one valid path's files (what auto-optimise-store does for each new path). */
  readonly optimisePath: (path: string) => Effect.Effect<OptimiseResult, OptimisePathError>
  /**
   * Replaces the files of a valid path by `nar`, which must hash to the
   * registered NAR hash (else HashMismatchError, and nothing changes): the
   * repair of a damaged path from a substituter.
   */
  readonly repairPath: <E>(
    path: string,
    nar: Stream.Stream<Uint8Array, E>
  ) => Effect.Effect<void, RepairPathError | E>
}

/** Failures of `repairPath`. */
export type RepairPathError =
  | QueryError
  | ReadOnlyStoreError
  | PathNotValidError
  | HashMismatchError
  | StoreIoError
  | LockError
  | CanonicaliseError
  | NarParseError
  | NarRestoreFsError

/** A store on this machine. */
export class LocalStore extends Context.Tag("tsnix/LocalStore")<LocalStore, LocalStoreShape>() {}
