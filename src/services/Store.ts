/**
 * The `Store` service: a local Nix store (files under the layout's real store
 * directory, metadata in SQLite), with nix-store's operations.
 *
 * Paths are logical store paths (`/nix/store/…`). Every operation fails with a
 * typed error; writes are transactional (all-or-nothing) and hold the locks
 * Nix would hold, so tsnix and Nix can share a store. The metadata queries are
 * those of {@link StoreDbShape}; this service adds the operations that touch
 * files.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect, Stream } from "effect"
import type { HashAlgo } from "../core/hash.js"
import type { InvalidStorePathError } from "../core/storePath.js"
import type { CycleError } from "../core/topoSort.js"
import type { DerivationParseError } from "../core/derivation/errors.js"
import type {
  DanglingReferenceError,
  DatabaseBusyError,
  PathInUseError,
  PathNotValidError,
  ReadOnlyStoreError,
  StoreDbError
} from "../db/errors.js"
import type { NarDumpError, NarParseError, NarRestoreFsError } from "../nar/errors.js"
import type { StoreLayout } from "../schema/StoreLayout.js"
import type { CanonicaliseError } from "../store/canonicalise.js"
import type { BadExportStreamError, HashMismatchError, StoreIoError } from "../store/errors.js"
import type { LockError } from "./Lock.js"
import type { StoreDbShape } from "./StoreDb.js"

/** Every failure a store operation can report. */
export type StoreError =
  | StoreDbError
  | DatabaseBusyError
  | ReadOnlyStoreError
  | PathNotValidError
  | DanglingReferenceError
  | PathInUseError
  | LockError
  | StoreIoError
  | HashMismatchError
  | BadExportStreamError
  | NarDumpError
  | NarParseError
  | NarRestoreFsError
  | CanonicaliseError
  | InvalidStorePathError
  | DerivationParseError
  | CycleError

/** How to add a file system object. */
export interface AddToStoreOptions {
  /** Name of the store path (default: the source's base name). */
  readonly name?: string | undefined
  /** `recursive` (NAR serialisation, the default) or `flat` (a regular file's bytes). */
  readonly method?: "flat" | "recursive" | undefined
  /** Hash algorithm of the content address (default sha256). */
  readonly algo?: HashAlgo | undefined
}

/** What `verifyStore` found. */
export interface VerifyReport {
  /** True when a problem remains (nix-store --verify then exits 1). */
  readonly errors: boolean
  /** Paths whose files were missing and that were invalidated. */
  readonly invalidated: ReadonlyArray<string>
  /** Paths whose files are missing but that valid paths still refer to (left valid). */
  readonly missingWithReferrers: ReadonlyArray<string>
  /** With checkContents: paths whose contents no longer match their hash. */
  readonly modified: ReadonlyArray<string>
  /** With checkContents: `.links` entries (real paths) whose contents no longer match their name. */
  readonly modifiedLinks: ReadonlyArray<string>
}

/** What an optimisation did (Nix's OptimiseStats). */
export interface OptimiseResult {
  /** Files replaced by a hard link to their `.links` copy. */
  readonly filesLinked: number
  /** The sum of their sizes: nix-store's "freed" figure. */
  readonly bytesFreed: number
  /** The sum of their 512-byte blocks. */
  readonly blocksFreed: number
}

/** The outcome of deleting paths. */
export interface DeleteResult {
  readonly deleted: ReadonlyArray<string>
  /** Bytes of the files removed (regular files and symlinks; directories not counted, as Nix). */
  readonly bytesFreed: number
}

/** The operations of a store. */
export interface StoreShape extends StoreDbShape {
  /** The directories this store lives in. */
  readonly layout: StoreLayout
  /** Copies a file system object into the store (content-addressed) and returns its path. */
  readonly addToStore: (srcPath: string, options?: AddToStoreOptions) => Effect.Effect<string, StoreError>
  /** Adds bytes as a text path with the given references (which must be valid) and returns its path. */
  readonly addTextToStore: (
    name: string,
    contents: Uint8Array | string,
    references: ReadonlyArray<string>
  ) => Effect.Effect<string, StoreError>
  /** The NAR serialisation of a valid path's files. */
  readonly narFromPath: (path: string) => Stream.Stream<Uint8Array, StoreError>
  /** nix-store --export of `paths` (each must be valid and unmodified), references first. */
  readonly exportPaths: (paths: ReadonlyArray<string>) => Stream.Stream<Uint8Array, StoreError>
  /** nix-store --import: all-or-nothing; returns the paths in stream order. */
  readonly importPaths: <E>(stream: Stream.Stream<Uint8Array, E>) => Effect.Effect<ReadonlyArray<string>, StoreError | E>
  /** Checks the database against the files (and their contents, optionally). */
  readonly verifyStore: (options: { readonly checkContents: boolean }) => Effect.Effect<VerifyReport, StoreError>
  /** Recomputes a valid path's NAR hash; fails with HashMismatchError when it differs. */
  readonly verifyPath: (path: string) => Effect.Effect<void, StoreError>
  /**
   * Deletes paths: invalidates them (referrers first) in one transaction, then
   * removes their files. Refuses paths that other valid paths outside the set
   * refer to, or that are temporary roots of running processes. (Liveness with
   * respect to GC roots is the GarbageCollector's job.)
   */
  readonly deletePaths: (paths: ReadonlyArray<string>) => Effect.Effect<DeleteResult, StoreError>
  /**
   * nix-store --optimise: replaces identical files of all valid paths by hard
   * links to one copy under `STORE/.links/`.
   */
  readonly optimiseStore: () => Effect.Effect<OptimiseResult, StoreError>
  /** Optimises one valid path's files (what auto-optimise-store does for each new path). */
  readonly optimisePath: (path: string) => Effect.Effect<OptimiseResult, StoreError>
}

/** The store. */
export class Store extends Context.Tag("tsnix/Store")<Store, StoreShape>() {}
