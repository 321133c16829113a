/**
 * The `Store` contract: what any Nix store can do (Nix's `Store` class),
 * whether it is the local SQLite store, a daemon client or a binary cache.
 *
 * Paths are logical store paths (`/nix/store/…`). Every method has its own
 * error union. The local-only capabilities (the layout, registering and
 * deleting paths, failed paths, optimising) are in {@link LocalStore}; the
 * garbage collector is {@link GcStore}. `closure` and `topoSortPaths` can be
 * derived from the queries (`stores/generic`); an implementation may
 * override them with something faster (the local store: one SQL statement).
 *
 * @since 0.1.0
 */
import { Context, Effect } from "effect"
import type { Option, Scope, Stream } from "effect"
import type { HashAlgo } from "../core/hash.js"
import type { DerivationParseError } from "../core/derivation/errors.js"
import type { NarParseError } from "../core/nar/errors.js"
import type { NarDumpError, NarRestoreFsError } from "../core/nar/ioErrors.js"
import type { InvalidStorePathError } from "../core/storePath.js"
import type { ReferenceCycleError } from "../core/topoSort.js"
import type {
  DanglingReferenceError,
  DatabaseBusyError,
  PathInUseError,
  PathNotValidError,
  ReadOnlyStoreError,
  StoreDbError
} from "./errors/database.js"
import type {
  BadExportStreamError,
  CanonicaliseError,
  HashMismatchError,
  PathIsTempRootError,
  StoreIoError
} from "./errors/store.js"
import type { RemoteError } from "./errors/remote.js"
import type { LockError } from "./Lock.js"
import type { ClosureOptions, ValidPathInfo } from "./StoreDb.js"

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
  /** With `repair`: the paths repaired (listed in `modified` or `missingWithReferrers` too). */
  readonly repaired?: ReadonlyArray<string>
  /**
   * Set when the references of valid paths form a cycle (left by an older tsnix or
   * by hand): `parent` refers to `path`, which refers back to it. An error.
   */
  readonly referenceCycle?: { readonly path: string; readonly parent: string }
}

/** What `verifyStore` does. */
export interface VerifyOptions {
  /** Recompute every valid path's NAR hash. */
  readonly checkContents: boolean
  /**
   * `--repair`: called for each modified path (and each vanished path that
   * valid paths still refer to), which it repairs or reports; true when the
   * path is repaired (no longer an error). A store that cannot repair
   * refuses the option.
   */
  readonly repair?: ((path: string) => Effect.Effect<boolean>) | undefined
}

/** The outcome of deleting paths. */
export interface DeleteResult {
  readonly deleted: ReadonlyArray<string>
  /** Bytes of the files removed (regular files and symlinks; directories not counted, as Nix). */
  readonly bytesFreed: number
}

/** Failures of a query (the store's metadata could not be read; a remote store: RemoteError). */
export type QueryError = StoreDbError | DatabaseBusyError | RemoteError
/** Failures of a query about one path, which must be valid. */
export type PathQueryError = QueryError | PathNotValidError
/** Failures of a closure. */
export type ClosureError = PathQueryError
/** Failures of a topological sort (a cycle: ReferenceCycleError). */
export type TopoSortError = PathQueryError | ReferenceCycleError
/** Failures of `narFromPath`. */
export type NarFromPathError = PathQueryError | NarDumpError
/** Failures of `addToStore`. */
export type AddToStoreError =
  | InvalidStorePathError
  | NarParseError
  | NarDumpError
  | NarRestoreFsError
  | ReadOnlyStoreError
  | DanglingReferenceError
  | QueryError
  | CanonicaliseError
  | StoreIoError
  | LockError
/** Failures of `addTextToStore` (a `.drv` must parse). */
export type AddTextToStoreError =
  | InvalidStorePathError
  | ReadOnlyStoreError
  | DanglingReferenceError
  | QueryError
  | CanonicaliseError
  | StoreIoError
  | LockError
  | DerivationParseError
/** Failures of `addToStoreNar`: a NAR that does not match the info is HashMismatchError (nothing added). */
export type AddToStoreNarError =
  | InvalidStorePathError
  | HashMismatchError
  | NarParseError
  | NarRestoreFsError
  | ReadOnlyStoreError
  | DanglingReferenceError
  | QueryError
  | CanonicaliseError
  | StoreIoError
  | LockError
  | DerivationParseError
/** Failures of `exportPaths` (a modified path: HashMismatchError). */
export type ExportPathsError = PathQueryError | NarDumpError | ReferenceCycleError | HashMismatchError
/** One path for `addMultipleToStore`: its info and its NAR serialisation (read once, in order). */
export interface NarToAdd<E> {
  readonly info: ValidPathInfo
  readonly nar: Stream.Stream<Uint8Array, E>
}

/** Failures of `importPaths` (any malformed or truncated stream: BadExportStreamError). */
export type ImportPathsError =
  | NarRestoreFsError
  | ReadOnlyStoreError
  | DanglingReferenceError
  | ReferenceCycleError
  | QueryError
  | CanonicaliseError
  | StoreIoError
  | BadExportStreamError
  | LockError
  | DerivationParseError
/** Failures of `verifyStore`. */
export type VerifyStoreError =
  | ReadOnlyStoreError
  | DanglingReferenceError
  | PathInUseError
  | PathNotValidError
  | QueryError
  | StoreIoError
  | LockError
/** Failures of `verifyPath` (modified contents: HashMismatchError). */
export type VerifyPathError = PathQueryError | NarDumpError | HashMismatchError
/** Failures of `addTempRoot`. */
export type AddTempRootError = LockError | RemoteError
/** Failures of `deletePaths` (a temporary root of a running process: PathIsTempRootError). */
export type DeletePathsError =
  | ReadOnlyStoreError
  | PathInUseError
  | PathIsTempRootError
  | QueryError
  | StoreIoError
  | LockError

/** Every failure a Store method can report (the union of the per-method unions). */
export type StoreError =
  | AddToStoreError
  | AddTextToStoreError
  | AddToStoreNarError
  | ExportPathsError
  | ImportPathsError
  | VerifyStoreError
  | VerifyPathError
  | TopoSortError
  | NarFromPathError
  | DeletePathsError

/** The primitive queries every store implements; the rest of {@link StoreShape} can be derived from them. */
export interface StorePrimitives {
  /** The logical store directory paths live in. */
  readonly storeDir: string
  /** True when writes are refused (ReadOnlyStoreError). */
  readonly readOnly: boolean
  readonly isValidPath: (path: string) => Effect.Effect<boolean, QueryError>
  /** The subset of `paths` that is valid (input order kept). */
  readonly queryValidPaths: (paths: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, QueryError>
  /** All valid paths, sorted. */
  readonly queryAllValidPaths: Effect.Effect<ReadonlyArray<string>, QueryError>
  readonly queryPathInfo: (path: string) => Effect.Effect<Option.Option<ValidPathInfo>, QueryError>
  /** Infos of many paths at once, in input order (invalid ones omitted); all valid paths, sorted, when `paths` is undefined. */
  readonly queryPathInfos: (paths?: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ValidPathInfo>, QueryError>
  readonly queryReferences: (path: string) => Effect.Effect<ReadonlyArray<string>, PathQueryError>
  /** Valid paths referring to `path` (itself included if self-referencing), sorted. */
  readonly queryReferrers: (path: string) => Effect.Effect<ReadonlyArray<string>, PathQueryError>
  readonly queryDeriver: (path: string) => Effect.Effect<Option.Option<string>, PathQueryError>
  /** Valid derivations that list `path` as an output, sorted. */
  readonly queryValidDerivers: (path: string) => Effect.Effect<ReadonlyArray<string>, QueryError>
  /** Output paths of a valid derivation, sorted. */
  readonly queryDerivationOutputs: (drvPath: string) => Effect.Effect<ReadonlyArray<string>, PathQueryError>
  /** Output name → path of a valid derivation. */
  readonly queryDerivationOutputMap: (
    drvPath: string
  ) => Effect.Effect<Readonly<Record<string, string>>, PathQueryError>
  /** The valid path whose hash part is `hashPart`, if any. */
  readonly queryPathFromHashPart: (hashPart: string) => Effect.Effect<Option.Option<string>, QueryError>
}

/** The operations derived from the primitives (generically in `stores/generic`, or overridden). */
export interface StoreDerived {
  /** The closure of `paths` (they included), sorted (Nix's computeFSClosure). */
  readonly computeClosure: (
    paths: ReadonlyArray<string>,
    options?: ClosureOptions
  ) => Effect.Effect<ReadonlyArray<string>, ClosureError>
  /**
   * Nix's topological order of `paths` (referrers before references; ties by path).
   * `nix-store -qR` / `--referrers-closure` print the reverse of this.
   */
  readonly topoSortPaths: (paths: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, TopoSortError>
}

/** The operations of any store. */
export interface StoreShape extends StorePrimitives, StoreDerived {
  /** Copies a file system object into the store (content-addressed) and returns its path. */
  readonly addToStore: (srcPath: string, options?: AddToStoreOptions) => Effect.Effect<string, AddToStoreError>
  /** Adds bytes as a text path with the given references (which must be valid) and returns its path. */
  readonly addTextToStore: (
    name: string,
    contents: Uint8Array | string,
    references: ReadonlyArray<string>
  ) => Effect.Effect<string, AddTextToStoreError>
  /**
   * Adds a path given its info and its NAR serialisation (Nix's addToStore(info, narSource)).
   * The NAR must match `info.narHash` (and `info.narSize` when not 0); a path already valid
   * is left alone (the NAR is not read). References must be valid or the path itself. The
   * path is registered with the info's deriver, signatures, content address, `ultimate` flag
   * and registration time (now when 0).
   */
  readonly addToStoreNar: <E>(
    info: ValidPathInfo,
    nar: Stream.Stream<Uint8Array, E>
  ) => Effect.Effect<void, AddToStoreNarError | E>
  /**
   * Adds many paths (references first), each as {@link StoreShape.addToStoreNar} would. Optional:
   * a store that sends them in one request has it (a daemon of protocol 1.32+:
   * AddMultipleToStore, one framed stream of infos and NARs); callers without it add path by path.
   */
  readonly addMultipleToStore?: <E>(
    items: ReadonlyArray<NarToAdd<E>>
  ) => Effect.Effect<void, AddToStoreNarError | E>
  /** The NAR serialisation of a valid path's files. */
  readonly narFromPath: (path: string) => Stream.Stream<Uint8Array, NarFromPathError>
  /** nix-store --export of `paths` (each must be valid and unmodified), references first. */
  readonly exportPaths: (paths: ReadonlyArray<string>) => Stream.Stream<Uint8Array, ExportPathsError>
  /** nix-store --import: all-or-nothing; returns the paths in stream order. */
  readonly importPaths: <E>(
    stream: Stream.Stream<Uint8Array, E>
  ) => Effect.Effect<ReadonlyArray<string>, ImportPathsError | E>
  /**
   * Makes `path` a temporary root of this process until the process ends (Nix's addTempRoot):
   * a collector, tsnix's or Nix's, does not delete it meanwhile. For roots released
   * earlier (a long-running program), see {@link StoreShape.tempRootSession}.
   */
  readonly addTempRoot: (path: string) => Effect.Effect<void, AddTempRootError>
  /**
   * Opens a temp-roots session that lasts until the current scope closes:
   * every temporary root this fiber (and the fibers it forks afterwards)
   * takes meanwhile, by `addTempRoot` or by adding paths (`addToStore`,
   * `addToStoreNar`, `importPaths`, …), is held by the session and released
   * when the scope closes, while the store stays open. A long-running
   * program opens one per unit of work (the daemon: per client connection;
   * a cache server: per request), so what it added can be collected later.
   * The local store keeps the roots in a file of their own,
   * `<state>/temproots/<pid>-<n>`, which Nix 2.8's collector honours too, and
   * deletes it on release. A store without a collector: a no-op.
   * See {@link withTempRootSession}.
   */
  readonly tempRootSession: Effect.Effect<void, never, Scope.Scope>
  /** Checks the database against the files (and their contents, optionally). */
  readonly verifyStore: (options: VerifyOptions) => Effect.Effect<VerifyReport, VerifyStoreError>
  /** Recomputes a valid path's NAR hash; fails with HashMismatchError when it differs. */
  readonly verifyPath: (path: string) => Effect.Effect<void, VerifyPathError>
}

/** Any store. */
export class Store extends Context.Tag("tsnix/Store")<Store, StoreShape>() {}

/**
 * Runs `effect` in a temp-roots session of the {@link Store}
 * ({@link StoreShape.tempRootSession}): the temporary roots it takes are
 * released when it ends (success, failure or interruption). The scope it
 * needs is closed then too.
 */
export const withTempRootSession = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Scope.Scope> | Store> =>
  Effect.scoped(Effect.zipRight(Effect.flatMap(Store, (store) => store.tempRootSession), effect))
