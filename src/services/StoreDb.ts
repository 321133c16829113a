/**
 * The store metadata database service: every query and update of the SQLite
 * database (`<state>/db/db.sqlite`) of a local store, Nix 2.8 compatible.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect, Option } from "effect"
import type {
  DanglingReferenceError,
  DatabaseBusyError,
  PathInUseError,
  PathNotValidError,
  ReadOnlyStoreError,
  StoreDbError
} from "./errors/database.js"
import type { ReferenceCycleError } from "../core/topoSort.js"
import type { ValidPathInfo } from "../core/pathInfo.js"

/**
 * What a store knows about one valid path (Nix's ValidPathInfo): the typed
 * value of `core/pathInfo` (branded paths, the NAR hash as a `Hash`, the
 * content address as a `ContentAddress`). The local store's row mapper
 * converts the database's text once, when rows become infos.
 */
export type { ValidPathInfo }

/** Input of `registerValidPaths`. */
export interface PathRegistration {
  readonly path: string
  /** `sha256:<base16>` (stored verbatim). */
  readonly narHash: string
  readonly narSize: number
  /** Each must be valid or registered in the same batch (self allowed). */
  readonly references: ReadonlyArray<string>
  readonly deriver?: string | undefined
  /** Unix seconds; default: now. */
  readonly registrationTime?: number | undefined
  readonly ultimate?: boolean | undefined
  readonly sigs?: ReadonlyArray<string> | undefined
  readonly ca?: string | undefined
  /** For a `.drv`: output name → output path (the caller parses the derivation). */
  readonly derivationOutputs?: Readonly<Record<string, string>> | undefined
}

/** Options of `computeClosure` (Nix's computeFSClosure). */
export interface ClosureOptions {
  /** `references` (default): what the paths need; `referrers`: what needs them. */
  readonly direction?: "references" | "referrers"
  /** references: add valid outputs of derivations; referrers: add valid derivers. */
  readonly includeOutputs?: boolean
  /** references: add valid derivers; referrers: add valid outputs of derivations. */
  readonly includeDerivers?: boolean
}

/** A progress report of a schema upgrade (`StoreOptions.onUpgradeProgress`). */
export interface UpgradeProgress {
  readonly phase: "reading-info-files" | "registering" | "altering-schema" | "done"
  readonly done: number
  readonly total: number
}

/** A failed-build record. */
export interface FailedPath {
  readonly path: string
  /** Unix seconds. */
  readonly time: number
}

/** Errors of every operation. */
export type DbFailure = StoreDbError | DatabaseBusyError

/** Operations on the store metadata database. */
export interface StoreDbShape {
  /** True when writes are refused (ReadOnlyStoreError). */
  readonly readOnly: boolean
  /** The logical store directory paths live in. */
  readonly storeDir: string
  readonly isValidPath: (path: string) => Effect.Effect<boolean, DbFailure>
  /** The subset of `paths` that is valid (input order kept). */
  readonly queryValidPaths: (paths: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, DbFailure>
  /** All valid paths, sorted. */
  readonly queryAllValidPaths: Effect.Effect<ReadonlyArray<string>, DbFailure>
  readonly queryPathInfo: (path: string) => Effect.Effect<Option.Option<ValidPathInfo>, DbFailure>
  /**
   * `queryPathInfo` answered synchronously when it can be (for hot loops such as the daemon's
   * QueryPathInfo): the same answer, or undefined when it cannot be given now (a transaction of
   * this process holds the connection, the database is busy, a row does not decode): then call
   * `queryPathInfo`. Optional: a StoreDb without it always takes the effect.
   */
  readonly queryPathInfoNow?: (path: string) => Option.Option<ValidPathInfo> | undefined
  /** Infos of many paths at once, in input order (invalid ones omitted); all valid paths, sorted, when `paths` is undefined. */
  readonly queryPathInfos: (paths?: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ValidPathInfo>, DbFailure>
  readonly queryReferences: (path: string) => Effect.Effect<ReadonlyArray<string>, DbFailure | PathNotValidError>
  /** Valid paths referring to `path` (itself included if self-referencing), sorted. */
  readonly queryReferrers: (path: string) => Effect.Effect<ReadonlyArray<string>, DbFailure | PathNotValidError>
  readonly queryDeriver: (path: string) => Effect.Effect<Option.Option<string>, DbFailure | PathNotValidError>
  /** Valid derivations that list `path` as an output, sorted. */
  readonly queryValidDerivers: (path: string) => Effect.Effect<ReadonlyArray<string>, DbFailure>
  /** Output paths of a valid derivation, sorted. */
  readonly queryDerivationOutputs: (
    drvPath: string
  ) => Effect.Effect<ReadonlyArray<string>, DbFailure | PathNotValidError>
  /** Output name → path of a valid derivation. */
  readonly queryDerivationOutputMap: (
    drvPath: string
  ) => Effect.Effect<Readonly<Record<string, string>>, DbFailure | PathNotValidError>
  /** The valid path whose hash part is `hashPart`, if any. */
  readonly queryPathFromHashPart: (hashPart: string) => Effect.Effect<Option.Option<string>, DbFailure>
  /** The closure of `paths` (they included), sorted; computed in SQLite in one statement. */
  readonly computeClosure: (
    paths: ReadonlyArray<string>,
    options?: ClosureOptions
  ) => Effect.Effect<ReadonlyArray<string>, DbFailure | PathNotValidError>
  /**
   * The answer of `computeClosure`, computed from the tables read in short pages, with the event
   * loop getting turns between them and during the walk: no statement runs long (for long analyses,
   * such as the collector's, in a process that serves others). No snapshot spans the pages: the
   * caller must exclude deletions meanwhile (the collector holds the GC lock).
   */
  readonly computeClosureYielding: (
    paths: ReadonlyArray<string>,
    options?: ClosureOptions
  ) => Effect.Effect<ReadonlyArray<string>, DbFailure | PathNotValidError>
  /**
   * Nix's topological order of `paths` (referrers before references; ties by path).
   * `nix-store -qR` / `--referrers-closure` print the reverse of this.
   */
  readonly topoSortPaths: (
    paths: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<string>, DbFailure | PathNotValidError | ReferenceCycleError>
  /**
   * Whether the references hold a cycle (self-references aside): one scan of
   * the references as id pairs, no path strings. `topoSortPaths` of all valid
   * paths then says which (a store written by an older tsnix, or by hand).
   */
  readonly hasReferenceCycle: Effect.Effect<boolean, DbFailure>
  /**
   * Registers (or re-registers: same id, new hash/size/ultimate/sigs/ca) a batch in one transaction.
   * Refuses a reference cycle (other than a self-reference): ReferenceCycleError, nothing registered.
   */
  readonly registerValidPaths: (
    infos: ReadonlyArray<PathRegistration>
  ) => Effect.Effect<void, DbFailure | ReadOnlyStoreError | DanglingReferenceError | ReferenceCycleError>
  /** Invalidates one path; a no-op when it is not valid. */
  readonly invalidatePath: (path: string) => Effect.Effect<void, DbFailure | ReadOnlyStoreError | PathInUseError>
  /** Invalidates a set of paths in one transaction; referrers outside the set make it fail (PathInUseError). */
  readonly invalidatePaths: (
    paths: ReadonlyArray<string>
  ) => Effect.Effect<void, DbFailure | ReadOnlyStoreError | PathInUseError>
  readonly registerFailedPaths: (
    paths: ReadonlyArray<string>,
    time?: number
  ) => Effect.Effect<void, DbFailure | ReadOnlyStoreError>
  readonly isFailedPath: (path: string) => Effect.Effect<boolean, DbFailure>
  readonly queryFailedPaths: Effect.Effect<ReadonlyArray<FailedPath>, DbFailure>
  /**
   * Runs `body` in one write transaction (BEGIN IMMEDIATE, busy retries of the whole body);
   * StoreDb operations inside it join that transaction, so several run atomically.
   */
  readonly writeTransaction: <A, E, R>(
    operation: string,
    body: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | DbFailure | ReadOnlyStoreError, R>
  /** Clears the given failed paths, or all of them. */
  readonly clearFailedPaths: (
    paths: ReadonlyArray<string> | "all"
  ) => Effect.Effect<void, DbFailure | ReadOnlyStoreError>
}

/** The store metadata database (its SQLite implementation: `stores/local/db/layer.ts`). */
export class StoreDb extends Context.Tag("tsnix/StoreDb")<StoreDb, StoreDbShape>() {}
