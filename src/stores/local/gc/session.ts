/**
 * A collector session: the GC lock held exclusively for the session's scope,
 * the roots socket served (so temporary roots added meanwhile, by tsnix or
 * Nix 2.8, are seen) and the temporary roots of live processes read.
 *
 * Temporary roots are kept by hash part (as Nix does, so `<hash>-x.lock` and
 * friends of a path being built are kept too). A root arriving over the socket
 * is recorded under the session's mutex and acknowledged only once no
 * deletion of a path with that hash is in progress: the deleter checks the
 * roots and marks its batch pending under the same mutex, so a path is either
 * seen as rooted before it is invalidated, or the client learns about the
 * root only after the path is gone (and then re-creates it).
 *
 * @since 0.1.0
 */
import { Effect, Either } from "effect"
import type { Scope } from "effect"
import { parseStorePath } from "../../../core/storePath.js"
import type { LockError } from "../../../services/Lock.js"
import type { GcContext } from "./context.js"
import { hashPartOf } from "./liveness.js"

/** The mutable state of a session. */
export interface GcSession {
  /** Hash parts of every temporary root seen so far. */
  readonly tempHashes: Set<string>
  /** Temporary roots received over the socket and not yet taken into account (logical paths). */
  readonly newRoots: Array<string>
  /** Hash parts of the paths being deleted right now. */
  readonly pending: Set<string>
  /** Serialises root arrivals against the deleter's check-and-mark. */
  readonly mutex: Effect.Semaphore
}

/** Opens a session (see the module comment); everything is released with the scope. */
export const openSession = (ctx: GcContext): Effect.Effect<GcSession, LockError, Scope.Scope> =>
  Effect.gen(function*() {
    const { layout, lock } = ctx
    yield* lock.gcLock("exclusive", { waitMessage: "waiting for the big garbage collector lock..." })
    const session: GcSession = {
      tempHashes: new Set(),
      newRoots: [],
      pending: new Set(),
      mutex: yield* Effect.makeSemaphore(1)
    }
    yield* lock.serveTempRoots((line) =>
      Effect.gen(function*() {
        if (Either.isLeft(parseStorePath(layout.storeDir, line))) {
          return yield* Effect.logError("received garbage instead of a root from client")
        }
        const h = hashPartOf(layout.storeDir, line)
        yield* session.mutex.withPermits(1)(Effect.sync(() => {
          session.tempHashes.add(h)
          session.newRoots.push(line)
        }))
        // Wait until a deletion of this very path (if any) has finished.
        while (session.pending.has(h)) yield* Effect.sleep("2 millis")
      })
    )
    const temp = yield* lock.readTempRoots()
    for (const p of temp.roots) {
      session.tempHashes.add(hashPartOf(layout.storeDir, p))
    }
    return session
  })
