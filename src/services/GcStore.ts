/**
 * The `GarbageCollector` service: Nix 2.8's garbage collector for a local
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
import type { DatabaseBusyError, PathInUseError, PathNotValidError, ReadOnlyStoreError, StoreDbError } from "./errors/database.js"
import type { GcSettings } from "../stores/local/gc/context.js"
import type { GcIoError, GcRootsError, PathAliveError } from "./errors/gc.js"
import type { WhyAlive } from "../stores/local/gc/liveness.js"
import type { LockError } from "./Lock.js"

export type { GcSettings } from "../stores/local/gc/context.js"
export type { WhyAlive } from "../stores/local/gc/liveness.js"

/** Every failure of a collector operation. */
export type GcError =
  | GcRootsError
  | GcIoError
  | LockError
  | StoreDbError
  | DatabaseBusyError
  | ReadOnlyStoreError
  | PathInUseError
  | PathNotValidError

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
export interface GarbageCollectorShape {
  /** The settings in force. */
  readonly settings: GcSettings
  /**
   * Every root (permanent, runtime when enabled, temporary), sorted by link
   * then target, as `nix-store --gc --print-roots` prints them. Stale links
   * in `gcroots/auto` are removed on the way.
   */
  readonly findRoots: (options?: { readonly censor?: boolean }) => Effect.Effect<ReadonlyArray<RootLink>, GcError>
  /** The live and dead sets (under the GC lock); deletes nothing. */
  readonly liveness: Effect.Effect<Liveness, GcError>
  /** Deletes the dead paths (stopping once more than `maxFreed` bytes are freed; 0: nothing). */
  readonly collectGarbage: (options?: { readonly maxFreed?: number | undefined }) => Effect.Effect<GcResult, GcError>
  /**
   * Deletes exactly `paths` (`nix-store --delete`). A path still alive (rooted,
   * or kept by a path not being deleted) fails with {@link PathAliveError} and
   * nothing is deleted. `ignoreLiveness` ignores permanent and runtime roots
   * and keep-* (temporary roots still count, and referrers must be deleted too).
   */
  readonly deletePaths: (
    paths: ReadonlyArray<string>,
    options?: { readonly ignoreLiveness?: boolean | undefined }
  ) => Effect.Effect<GcResult, GcError | PathAliveError>
  /** The roots whose target is in the referrers closure (with keep-*) of `paths` (`nix-store -q --roots`). */
  readonly queryRoots: (paths: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<RootLink>, GcError>
  /** A chain from a root to `path`, or None when it is dead. */
  readonly whyAlive: (path: string) => Effect.Effect<Option.Option<WhyAlive>, GcError>
}

/** The garbage collector. */
export class GarbageCollector extends Context.Tag("tsnix/GarbageCollector")<GarbageCollector, GarbageCollectorShape>() {}
