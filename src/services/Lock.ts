/**
 * The `Lock` service: the store's inter-process locks, compatible with Nix 2.8.
 *
 * Nix 2.8 takes `flock(2)` locks on these files, and so does the live layer
 * (`src/stores/local/lock/layer.ts`), so tsnix and Nix never hold the same lock at once:
 *
 * - `<state>/db/big-lock`: shared by every store user, exclusive for a schema
 *   upgrade ({@link LockShape.bigLock});
 * - `<real store path>.lock`: one exclusive lock per store path being built,
 *   added or deleted, taken in sorted order, with Nix's deletion protocol
 *   ({@link LockShape.lockPaths});
 * - `<state>/gc.lock`: exclusive while the collector runs, taken shared (without
 *   waiting) by a process appending a temporary root ({@link LockShape.gcLock});
 * - `<state>/temproots/<pid>`: this process's temporary roots, NUL-terminated,
 *   the file write-locked for the life of the process
 *   ({@link LockShape.addTempRoot}, {@link LockShape.readTempRoots});
 * - `<state>/temproots/<pid>-<n>`: the temporary roots of one session
 *   ({@link LockShape.tempRootSession}), the same format and lock, deleted
 *   when the session's scope closes.
 *
 * Every acquisition is scoped (released when the scope closes, on success,
 * failure or interruption; the kernel releases it if the process dies). Waiting
 * is a loop of non-blocking attempts with a short jittered exponential backoff
 * (capped at 50 ms): it never blocks the event loop or a libuv thread, it can be
 * interrupted at any time, it logs a "waiting for …" message (at Debug, with Nix's info level annotated: core/nixLog)
 * after a short delay, and it fails with {@link LockTimeoutError} after the
 * optional timeout. Fibers of one process contend exactly like processes.
 *
 * @since 0.1.0
 */
import { Context, Data } from "effect"
import type { Duration, Effect, Option, Scope } from "effect"

/** How a lock is held: `shared` (many holders) or `exclusive` (one holder). */
export type LockMode = "shared" | "exclusive"

/** Options of a waiting acquisition. */
export interface LockWaitOptions {
  /** Give up with {@link LockTimeoutError} after this long (none: wait for ever; 0: try once). */
  readonly timeout?: Duration.DurationInput
  /** The message logged (core/nixLog.nixInfo) once the wait has lasted `messageDelay`. */
  readonly waitMessage?: string
  /** How long to wait before logging `waitMessage` (default 1 second). */
  readonly messageDelay?: Duration.DurationInput
}

/** The lock was not obtained within the requested timeout. */
export class LockTimeoutError extends Data.TaggedError("LockTimeoutError")<{
  /** What was being locked (a lock file path, or a test-layer key). */
  readonly lock: string
  /** The timeout that expired, in milliseconds. */
  readonly timeoutMillis: number
}> {
  override get message(): string {
    return `timed out after ${this.timeoutMillis} ms waiting for the lock '${this.lock}'`
  }
}

/** A system call on a lock file failed (open, flock, write, unlink, …). */
export class LockIOError extends Data.TaggedError("LockIOError")<{
  /** The file concerned. */
  readonly path: string
  /** What was being done. */
  readonly operation: string
  /** The errno code (`EACCES`, …) when known. */
  readonly code?: string
  /** The underlying error. */
  readonly cause: unknown
}> {
  override get message(): string {
    return `${this.operation} '${this.path}' failed${this.code === undefined ? "" : ` (${this.code})`}: ${
      String(this.cause)
    }`
  }
}

/** A path given to {@link LockShape.lockPaths} or {@link LockShape.addTempRoot} is not a store path of this store. */
export class LockPathError extends Data.TaggedError("LockPathError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot lock '${this.path}': ${this.reason}`
  }
}

/** Every failure of the Lock service. */
export type LockError = LockTimeoutError | LockIOError | LockPathError

/**
 * A held lock on one file (big lock, GC lock). It is released when the scope
 * that acquired it closes.
 */
export interface HeldLock {
  /** The lock file (live layer) or key (test layer). */
  readonly path: string
  /** The current mode; `none` after a failed {@link HeldLock.relock}. */
  readonly mode: Effect.Effect<LockMode | "none">
  /**
   * Converts the lock to `mode` on the same file description, as Nix does for a
   * schema upgrade. Like `flock(2)` the conversion is not atomic: if it cannot
   * be done at once the current lock is dropped first and the new one waited
   * for (so two upgraders cannot deadlock). After a failure (timeout,
   * interruption) the handle holds no lock.
   */
  readonly relock: (mode: LockMode, options?: LockWaitOptions) => Effect.Effect<void, LockError>
}

/** Exclusive locks on a set of store paths, held until released or the scope closes. */
export interface PathLocks {
  /** The locked logical store paths, sorted and deduplicated. */
  readonly paths: ReadonlyArray<string>
  /**
   * Whether the lock files are to be deleted on release (Nix's `setDeletion`).
   * The releaser unlinks each file and writes `d` into it while still holding
   * the lock, so a process waiting on the old file sees it is stale and retries.
   */
  readonly setDeletion: (deletion: boolean) => Effect.Effect<void>
  /** Releases the locks now (idempotent; otherwise done when the scope closes). */
  readonly release: Effect.Effect<void>
}

/** The temporary roots of the store's processes, as the collector sees them. */
export interface TempRoots {
  /** Every root of every live process. */
  readonly roots: ReadonlySet<string>
  /** The roots per temp-roots file name (the owner's pid), live processes only. */
  readonly byProcess: ReadonlyMap<string, ReadonlyArray<string>>
  /** Files whose owner is dead (their lock could be taken); removed unless `removeDead: false`. */
  readonly deadFiles: ReadonlyArray<string>
}

/** The operations of the Lock service. */
export interface LockShape {
  /** Takes the big lock `<state>/db/big-lock` (shared for every store user, exclusive for schema upgrades). */
  readonly bigLock: (mode: LockMode, options?: LockWaitOptions) => Effect.Effect<HeldLock, LockError, Scope.Scope>
  /** Takes the GC lock `<state>/gc.lock` (exclusive for the collector). */
  readonly gcLock: (mode: LockMode, options?: LockWaitOptions) => Effect.Effect<HeldLock, LockError, Scope.Scope>
  /**
   * Takes exclusive locks on `<real path>.lock` for each logical store path,
   * in sorted order (no deadlock), retrying when a lock file turns out to have
   * been deleted by its previous holder.
   */
  readonly lockPaths: (
    storePaths: Iterable<string>,
    options?: LockWaitOptions
  ) => Effect.Effect<PathLocks, LockError, Scope.Scope>
  /** Like {@link LockShape.lockPaths} without waiting: `None` (and nothing held) if any path is locked. */
  readonly tryLockPaths: (
    storePaths: Iterable<string>
  ) => Effect.Effect<Option.Option<PathLocks>, LockError, Scope.Scope>
  /**
   * Records `storePath` as a temporary root of this process (Nix 2.8 protocol):
   * creates and write-locks `<state>/temproots/<pid>` on first use (the file is
   * kept until the layer's scope closes), then appends the path while holding
   * `gc.lock` shared; if the collector holds `gc.lock`, the path is sent to it
   * over `<state>/gc-socket/socket` instead (retrying until one of the two works).
   */
  readonly addTempRoot: (storePath: string) => Effect.Effect<void, LockError>
  /**
   * Opens a temp-roots session that lasts until the current scope closes.
   * Meanwhile every temporary root added by this fiber, and by the fibers it
   * forks after this call (they inherit the session, as a FiberRef), goes to
   * the session's own file `<state>/temproots/<pid>-<n>` instead of the
   * process's: created on the first root, write-locked like the process's
   * file (so Nix 2.8's collector and tsnix's honour it), and deleted when the
   * scope closes, which releases those roots while the store stays open. A
   * long-running program (the daemon: one session per client connection; a
   * cache server) can so collect what it added. A root added through the
   * session after it closed goes to the process's file (never unprotected).
   * Sessions nest (the inner one wins until it closes). Read-only store: a
   * no-op.
   */
  readonly tempRootSession: Effect.Effect<void, never, Scope.Scope>
  /**
   * {@link LockShape.addTempRoot} for many paths at once: one append (one
   * write) while no collector runs, else each path as addTempRoot does.
   */
  readonly addTempRoots: (storePaths: ReadonlyArray<string>) => Effect.Effect<void, LockError>
  /**
   * Reads the temporary roots of live processes. A file whose write lock can be
   * taken belongs to a dead process: it is reported in `deadFiles` and, unless
   * `removeDead` is false, deleted (unlinked, then `d` written into it, as Nix
   * does). The collector should hold the GC lock exclusively while calling it.
   */
  readonly readTempRoots: (options?: { readonly removeDead?: boolean }) => Effect.Effect<TempRoots, LockError>
  /**
   * For the collector, while it holds the GC lock exclusively: accepts the
   * temporary roots that other processes (tsnix or Nix 2.8) add meanwhile, over
   * `<state>/gc-socket/socket`, running `onRoot` for each before acknowledging
   * it. Stops (and removes the socket) when the scope closes.
   */
  readonly serveTempRoots: <R>(
    onRoot: (storePath: string) => Effect.Effect<void, never, R>
  ) => Effect.Effect<void, LockError, R | Scope.Scope>
}

/** The Lock service tag. */
export class Lock extends Context.Tag("tsnix/Lock")<Lock, LockShape>() {}
