/**
 * Builds the scoped lock operations of the Lock service (big lock, GC lock,
 * path locks) over a {@link LockBackend}: the live layer's backend is
 * `flock(2)` on files, the test layer's an in-memory table. Waiting, ordering,
 * timeouts, messages and release are the same code for both.
 *
 * @since 0.1.0
 */
import { Effect, ExecutionStrategy, Exit, Option, Ref, Scope } from "effect"
import type {
  HeldLock,
  LockError,
  LockIOError,
  LockMode,
  LockShape,
  LockWaitOptions,
  PathLocks
} from "../../../services/Lock.js"
import { acquireWaiting, busy, isBusy, waitFor } from "./acquire.js"
import type { Busy } from "./acquire.js"
import { sortedStorePaths } from "./storePaths.js"

/** What a lock implementation provides: non-blocking operations on one lock `key` at a time. */
export interface LockBackend<H> {
  /** Tries to take `key` in `mode` at once; `Some(handle)` when now held. */
  readonly tryLock: (key: string, mode: LockMode) => Effect.Effect<Option.Option<H>, LockIOError>
  /** Converts a held lock at once; `false` when it cannot (the handle then holds nothing, as with flock on Linux). */
  readonly convert: (handle: H, mode: LockMode) => Effect.Effect<boolean, LockIOError>
  /** Drops the lock but keeps the handle (for a later {@link LockBackend.convert}). */
  readonly unlock: (handle: H) => Effect.Effect<void>
  /**
   * Whether the lock just taken is on a deleted lock file (Nix: a non-empty
   * file). The caller then releases it and tries again.
   */
  readonly isStale: (handle: H) => Effect.Effect<boolean, LockIOError>
  /** Releases and forgets the handle; with `deletion`, runs Nix's deletion protocol first. */
  readonly release: (handle: H, deletion: boolean) => Effect.Effect<void>
}

/** The keys (lock file paths) the service uses. */
export interface LockKeys {
  /** The logical store directory paths must live in. */
  readonly storeDir: string
  /** `<state>/db/big-lock`. */
  readonly bigLock: string
  /** `<state>/gc.lock`. */
  readonly gcLock: string
  /** `<real store path>.lock` for a logical store path. */
  readonly pathLock: (storePath: string) => string
}

/** The operations {@link makeLockOps} builds. */
export type LockOps = Pick<LockShape, "bigLock" | "gcLock" | "lockPaths" | "tryLockPaths">

/**
 * One non-blocking attempt on a path lock. A stale lock file (deleted by its
 * previous holder) is retried at once, a few times; after that the attempt
 * counts as busy, so that a lock file that stays non-empty (which Nix would
 * retry for ever) is waited for with backoff, interruptibly and under the timeout.
 */
const tryPathLock = <H>(
  backend: LockBackend<H>,
  key: string,
  staleRetries = 8
): Effect.Effect<Option.Option<H>, LockIOError> =>
  Effect.flatMap(backend.tryLock(key, "exclusive"), (o) =>
    Option.isNone(o)
      ? Effect.succeed(o)
      : Effect.flatMap(backend.isStale(o.value), (stale) =>
        !stale
          ? Effect.succeed(o)
          : Effect.zipRight(
            backend.release(o.value, false),
            staleRetries > 0 ? Effect.suspend(() => tryPathLock(backend, key, staleRetries - 1)) : Effect.succeedNone
          )))

/** Builds the scoped lock operations over `backend`. */
export const makeLockOps = <H>(backend: LockBackend<H>, keys: LockKeys): LockOps => {
  const fileLock = (
    key: string,
    mode: LockMode,
    message: (mode: LockMode) => string,
    options?: LockWaitOptions
  ): Effect.Effect<HeldLock, LockError, Scope.Scope> =>
    Effect.gen(function*() {
      const handle = yield* acquireWaiting(
        backend.tryLock(key, mode),
        (h) => backend.release(h, false),
        key,
        message(mode),
        options
      )
      const current = yield* Ref.make<LockMode | "none">(mode)
      const serial = yield* Effect.makeSemaphore(1)
      const relock = (target: LockMode, opts?: LockWaitOptions): Effect.Effect<void, LockError> =>
        serial.withPermits(1)(Effect.gen(function*() {
          if ((yield* Ref.get(current)) === target) return
          const attempt = Effect.uninterruptible(
            Effect.flatMap(backend.convert(handle, target), (ok) => ok ? Ref.set(current, target) : Effect.fail(busy))
          )
          yield* attempt.pipe(
            Effect.catchIf(isBusy, () =>
              Effect.zipRight(
                Effect.zipRight(backend.unlock(handle), Ref.set(current, "none")),
                waitFor(attempt, key, message(target), opts)
              ))
          )
        }))
      return { path: key, mode: Ref.get(current), relock } satisfies HeldLock
    }).pipe(Effect.withSpan("Lock.lockFile", { attributes: { key, mode } }))

  const lockPathsWith = (
    storePaths: Iterable<string>,
    options: LockWaitOptions | "try"
  ): Effect.Effect<Option.Option<PathLocks>, LockError, Scope.Scope> =>
    Effect.gen(function*() {
      const paths = yield* sortedStorePaths(keys.storeDir, storePaths)
      const parent = yield* Effect.scope
      const child = yield* Scope.fork(parent, ExecutionStrategy.sequential)
      const deletion = yield* Ref.make(false)
      const releaseOne = (h: H) => Effect.flatMap(Ref.get(deletion), (d) => backend.release(h, d))
      const acquireAll = Effect.forEach(paths, (p): Effect.Effect<void, LockError | Busy> => {
        const key = keys.pathLock(p)
        const attempt = tryPathLock(backend, key)
        return options === "try"
          ? Scope.extend(
            Effect.flatMap(Effect.scope, (scope) =>
              Effect.uninterruptible(Effect.flatMap(attempt, (o): Effect.Effect<void, Busy> =>
                Option.isNone(o) ? Effect.fail(busy) : Scope.addFinalizer(scope, releaseOne(o.value))))),
            child
          )
          : Scope.extend(
            Effect.asVoid(
              acquireWaiting(attempt, releaseOne, key, options.waitMessage ?? `waiting for lock on '${p}'`, options)
            ),
            child
          )
      }, { discard: true })
      // On any failure (a busy path in "try" mode, a timeout, an interruption) release what was taken, at once.
      const complete = yield* acquireAll.pipe(
        Effect.onExit((exit) =>
          Exit.isFailure(exit) ? Scope.close(child, exit) : Effect.void
        ),
        Effect.as(true),
        Effect.catchIf(isBusy, () => Effect.succeed(false))
      )
      if (!complete) return Option.none()
      return Option.some<PathLocks>({
        paths,
        setDeletion: (d) => Ref.set(deletion, d),
        release: Scope.close(child, Exit.void)
      })
    })

  return {
    bigLock: (mode, options) =>
      fileLock(
        keys.bigLock,
        mode,
        (m) =>
          m === "shared" ? "waiting for the big Nix store lock..." : "waiting for exclusive access to the Nix store...",
        options
      ).pipe(Effect.withSpan("Lock.bigLock")),
    gcLock: (mode, options) =>
      fileLock(keys.gcLock, mode, () => "waiting for the big garbage collector lock...", options).pipe(
        Effect.withSpan("Lock.gcLock")
      ),
    lockPaths: (storePaths, options) =>
      lockPathsWith(storePaths, options ?? {}).pipe(
        Effect.flatMap(Option.match({
          // Only the "try" mode yields None; a waiting acquisition always holds every lock.
          onNone: () => Effect.dieMessage("lockPaths: waiting acquisition returned no locks"),
          onSome: Effect.succeed
        })),
        Effect.withSpan("Lock.lockPaths")
      ),
    tryLockPaths: (storePaths) => lockPathsWith(storePaths, "try").pipe(Effect.withSpan("Lock.tryLockPaths"))
  }
}
