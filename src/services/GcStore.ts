/**
 * The `GcStore` contract (Nix's GcStore capability; `GarbageCollector` is its
 * older name, kept as an alias): Nix 2.8's garbage collector for a
 * store (roots, liveness with keep-outputs / keep-derivations, deletion of
 * dead paths or of specific paths, and explanations).
 *
 * Every operation that looks at liveness in order to delete or report dead
 * paths holds the GC lock exclusively and serves the roots socket meanwhile,
 * so processes (tsnix or Nix 2.8) adding temporary roots concurrently are
 * never robbed of their paths.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect, Option } from "effect"
import type {
  DatabaseBusyError,
  PathInUseError,
  PathNotValidError,
  ReadOnlyStoreError,
  StoreDbError
} from "./errors/database.js"
import type { GcIoError, GcRootRefusedError, GcRootsError, PathAliveError } from "./errors/gc.js"
import type { RemoteError } from "./errors/remote.js"
import type { LockError } from "./Lock.js"

/** The collector's settings (nix.conf names in comments). */
export interface GcSettings {
  /** `keep-outputs` (default false): a live derivation keeps its valid outputs alive. */
  readonly keepOutputs: boolean
  /** `keep-derivations` (default true): a live path keeps its valid deriver alive. */
  readonly keepDerivations: boolean
  /** `gc-runtime-roots` (tsnix, default true): paths used by running processes are roots (Linux). */
  readonly gcRuntimeRoots: boolean
}

/** How one path keeps the next one alive. */
export type LiveEdge = "reference" | "output" | "deriver"

/** One step of a {@link WhyAlive} chain. */
export interface ChainStep {
  /** The path reached. */
  readonly path: string
  /** How the previous path keeps it alive (`root` for the first step). */
  readonly via: LiveEdge | "root"
}

/** Why a path is alive: a root (with the links rooting it) and a chain from it to the path. */
export interface WhyAlive {
  readonly root: string
  readonly links: ReadonlyArray<string>
  readonly chain: ReadonlyArray<ChainStep>
}

/** Every failure of a collector operation (each method's own union is below). */
export type GcError =
  | GcRootsError
  | GcIoError
  | LockError
  | StoreDbError
  | DatabaseBusyError
  | ReadOnlyStoreError
  | PathInUseError
  | PathNotValidError
  | RemoteError

/** Failures of reading the roots (findRoots, queryRoots). */
export type FindRootsError =
  | GcRootsError
  | GcIoError
  | LockError
  | StoreDbError
  | DatabaseBusyError
  | PathNotValidError
  | RemoteError
/** Failures of computing liveness (liveness, whyAlive). */
export type LivenessError = FindRootsError
/** Failures of a collection. */
export type CollectGarbageError = FindRootsError | ReadOnlyStoreError | PathInUseError
/** Failures of deleting specific paths (a live one: PathAliveError). */
export type GcDeletePathsError = CollectGarbageError | PathAliveError

/** Failures of adding or removing a root (a root in the store, or over another file: GcRootRefusedError). */
export type AddRootError = GcRootRefusedError | GcIoError | RemoteError

/** What a collection did. */
export interface GcResult {
  /** The deleted paths (logical), in deletion order. */
  readonly paths: ReadonlyArray<string>
  /** Bytes freed, measured from the files removed (regular files and symlinks, as Nix counts). */
  readonly bytesFreed: number
}

/** The live and dead paths, as `--print-live` / `--print-dead` list them (sorted). */
export interface Liveness {
  readonly live: ReadonlyArray<string>
  readonly dead: ReadonlyArray<string>
}

/** A root: a link (or `{temp:PID}`, `/proc/…`, `{censored}`) and the store path it roots. */
export interface RootLink {
  readonly link: string
  readonly target: string
}

/** The operations of the collector. */
export interface GcStoreShape {
  /** The settings in force. */
  readonly settings: GcSettings
  /**
   * Every root (permanent, runtime when enabled, temporary), sorted by link
   * then target, as `nix-store --gc --print-roots` prints them. Stale links
   * in `gcroots/auto` are removed on the way.
   */
  readonly findRoots: (
    options?: { readonly censor?: boolean }
  ) => Effect.Effect<ReadonlyArray<RootLink>, FindRootsError>
  /** The live and dead sets (under the GC lock); deletes nothing. */
  readonly liveness: Effect.Effect<Liveness, LivenessError>
  /**
   * Deletes the dead paths (stopping once more than `maxFreed` bytes are freed; 0: nothing).
   * Interruption stops it between two removals; `onInterrupt` then gets what was deleted so far.
   */
  readonly collectGarbage: (
    options?: {
      readonly maxFreed?: number | undefined
      readonly onInterrupt?: ((partial: GcResult) => Effect.Effect<void>) | undefined
    }
  ) => Effect.Effect<GcResult, CollectGarbageError>
  /**
   * Deletes exactly `paths` (`nix-store --delete`). A path still alive (rooted,
   * or kept by a path not being deleted) fails with {@link PathAliveError} and
   * nothing is deleted. `ignoreLiveness` ignores permanent and runtime roots
   * and keep-* (temporary roots still count, and referrers must be deleted too).
   */
  readonly deletePaths: (
    paths: ReadonlyArray<string>,
    options?: { readonly ignoreLiveness?: boolean | undefined }
  ) => Effect.Effect<GcResult, GcDeletePathsError>
  /** The roots whose target is in the referrers closure (with keep-*) of `paths` (`nix-store -q --roots`). */
  readonly queryRoots: (paths: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<RootLink>, FindRootsError>
  /**
   * Nix's addPermRoot: makes `rootPath` a symlink to `storePath` and registers
   * it as an indirect root (`gcroots/auto`); returns the root's absolute path.
   * The path is held as a temporary root meanwhile.
   */
  readonly addPermRoot: (storePath: string, rootPath: string) => Effect.Effect<string, AddRootError | LockError>
  /** Registers `rootPath` (whatever it links to, now or later) as an indirect root. */
  readonly addIndirectRoot: (rootPath: string) => Effect.Effect<void, AddRootError>
  /** Removes a permanent root: the symlink at `rootPath` (if it points into the store) and its indirect root. */
  readonly removeRoot: (rootPath: string) => Effect.Effect<void, AddRootError>
  /** A chain from a root to `path`, or None when it is dead. */
  readonly whyAlive: (path: string) => Effect.Effect<Option.Option<WhyAlive>, LivenessError>
}

/** A store that can collect garbage. */
export class GcStore extends Context.Tag("tsnix/GcStore")<GcStore, GcStoreShape>() {}

/** The older name of {@link GcStore}. */
export const GarbageCollector = GcStore
/** The older name of {@link GcStore}. */
export type GarbageCollector = GcStore
/** The older name of {@link GcStoreShape}. */
export type GarbageCollectorShape = GcStoreShape
