/**
 * The live Lock layer: `flock(2)` locks (through `fs-ext`) on the same files as
 * Nix 2.8, under a {@link StoreLayout}. See `src/services/Lock.ts` for the
 * semantics.
 *
 * Each acquisition opens its own file description, so two fibers of this
 * process contend exactly as two processes do (flock locks belong to the open
 * file description).
 *
 * @since 0.1.0
 */
import { Effect, FiberRef, Layer, Option, Ref } from "effect"
import type { Scope } from "effect"
import * as path from "node:path"
import { busy, isBusy, waitFor } from "./acquire.js"
import type { Busy } from "./acquire.js"
import {
  closeFd,
  fdSize,
  mkdirp,
  openLockFile,
  openLockFileReadOnly,
  readAll,
  tryFlock,
  unflock,
  unlinkQuiet,
  writeAll
} from "./flock.js"
import { sendRootsToCollector, sendRootToCollector, serveGcRoots } from "./gcSocket.js"
import { makeLockOps } from "./make.js"
import type { LockBackend, LockKeys } from "./make.js"
import { checkStorePath } from "./storePaths.js"
import {
  acquireOwnTempRootsFile,
  appendOwnTempRoot,
  createTempRootsFile,
  nextSessionFileName,
  readTempRootsDir,
  releaseOwnTempRootsFile
} from "./tempRoots.js"
import type { OwnTempRootsFile } from "./tempRoots.js"
import { encodeTempRoot, parseTempRoots } from "./tempRootsFormat.js"
import { toRealPath } from "../../../core/storeLayout.js"
import type { StoreLayout } from "../../../core/storeLayout.js"
import { Lock } from "../../../services/Lock.js"
import type { LockError, LockIOError, LockShape } from "../../../services/Lock.js"

/** The lock files of a store, as Nix 2.8 names them. */
export interface LockFiles extends LockKeys {
  /** `<state>/temproots`. */
  readonly tempRootsDir: string
  /** `<state>/gc-socket/socket`, where a running collector accepts new roots. */
  readonly gcSocket: string
}

/** The lock files of the store laid out as `layout`. */
export const lockFiles = (layout: StoreLayout): LockFiles => ({
  storeDir: layout.storeDir,
  bigLock: path.join(layout.dbDir, "big-lock"),
  gcLock: path.join(layout.stateDir, "gc.lock"),
  pathLock: (storePath) => toRealPath(layout, storePath) + ".lock",
  tempRootsDir: path.join(layout.stateDir, "temproots"),
  gcSocket: path.join(layout.stateDir, "gc-socket", "socket")
})

/**
 * One temp-roots session (see `LockShape.tempRootSession`): its file is
 * created on the first root; `closed` once the session's scope has closed.
 * `lock` serialises creation, appends and release, so nothing is written to
 * a closed descriptor.
 */
interface Session {
  readonly file: string
  readonly lock: Effect.Semaphore
  fd: number | undefined
  closed: boolean
}

/** Appends bytes to a temp-roots file; `false` when the session closed meanwhile (nothing written). */
type Appender = (bytes: Uint8Array) => Effect.Effect<boolean, LockIOError>

interface FdHandle {
  readonly key: string
  readonly fd: number
}

/** Opens (creating it and its directory if needed) a lock file. */
const openCreating = (key: string): Effect.Effect<number, LockIOError> =>
  openLockFile(key, true).pipe(
    Effect.catchIf(
      (e) => e.code === "ENOENT",
      () => Effect.zipRight(mkdirp(path.dirname(key)), openLockFile(key, true))
    ),
    // With create=true the result is always a descriptor.
    Effect.map((fd) => fd as number)
  )

/** The flock backend: one open file description per handle. */
export const flockBackend: LockBackend<FdHandle> = {
  tryLock: (key, mode) =>
    Effect.gen(function*() {
      const fd = yield* openCreating(key)
      const ok = yield* tryFlock(fd, mode, key).pipe(Effect.tapError(() => closeFd(fd)))
      if (ok) return Option.some({ key, fd })
      yield* closeFd(fd)
      return Option.none()
    }),
  convert: (h, mode) => tryFlock(h.fd, mode, h.key),
  unlock: (h) => Effect.ignore(unflock(h.fd, h.key)),
  isStale: (h) => Effect.map(fdSize(h.fd, h.key), (size) => size !== 0),
  release: (h, deletion) =>
    Effect.zipRight(
      // Nix's deleteLockFile: unlink, then mark the file stale for anyone waiting on it.
      deletion
        ? Effect.zipRight(unlinkQuiet(h.key), Effect.ignore(writeAll(h.fd, new Uint8Array([0x64]), h.key)))
        : Effect.void,
      closeFd(h.fd)
    )
}

/**
 * The flock backend of a store opened read-only: lock files are opened for
 * reading (flock works on such a descriptor) and never created, written or
 * deleted. A lock file that is missing, or that this user may not read, is
 * gone without (`fd` -1): a reader of another user's store cannot take the
 * owner's locks, and holds none of them.
 */
export const readOnlyFlockBackend: LockBackend<FdHandle> = {
  tryLock: (key, mode) =>
    Effect.gen(function*() {
      const fd = yield* openLockFileReadOnly(key)
      if (fd === undefined) return Option.some({ key, fd: -1 })
      const ok = yield* tryFlock(fd, mode, key).pipe(Effect.tapError(() => closeFd(fd)))
      if (ok) return Option.some({ key, fd })
      yield* closeFd(fd)
      return Option.none()
    }),
  convert: (h, mode) => (h.fd < 0 ? Effect.succeed(true) : tryFlock(h.fd, mode, h.key)),
  unlock: (h) => (h.fd < 0 ? Effect.void : Effect.ignore(unflock(h.fd, h.key))),
  isStale: (h) => (h.fd < 0 ? Effect.succeed(false) : Effect.map(fdSize(h.fd, h.key), (size) => size !== 0)),
  release: (h) => (h.fd < 0 ? Effect.void : closeFd(h.fd))
}

/** Options of the live Lock layer. */
export interface LockOptions {
  /**
   * The store is opened read-only: nothing is created or written (see
   * {@link readOnlyFlockBackend}); temporary roots are neither recorded nor
   * served, and dead processes' temp-roots files are left in place.
   */
  readonly readOnly?: boolean | undefined
}

/** Builds the live Lock service for `layout`; temp roots and the GC lock descriptor live until the scope closes. */
export const make = (layout: StoreLayout, options: LockOptions = {}): Effect.Effect<LockShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const files = lockFiles(layout)
    const readOnly = options.readOnly === true
    const ops = makeLockOps(readOnly ? readOnlyFlockBackend : flockBackend, files)

    const own = yield* Ref.make(Option.none<OwnTempRootsFile>())
    const ownLock = yield* Effect.makeSemaphore(1)
    const gcFd = yield* Ref.make(Option.none<number>())
    const gcFdLock = yield* Effect.makeSemaphore(1)
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        Effect.flatMap(
          Ref.get(own),
          Option.match({ onNone: () => Effect.void, onSome: (f) => releaseOwnTempRootsFile(f, handOffRoots) })
        ),
        Effect.flatMap(Ref.get(gcFd), Option.match({ onNone: () => Effect.void, onSome: closeFd }))
      )
    )

    const ownFile = ownLock.withPermits(1)(Effect.flatMap(
      Ref.get(own),
      Option.match({
        onSome: Effect.succeed,
        onNone: () =>
          Effect.uninterruptible(
            Effect.tap(acquireOwnTempRootsFile(files.tempRootsDir), (f) => Ref.set(own, Option.some(f)))
          )
      })
    ))

    /** With the shared GC lock held (non-blocking), run `f`; `busy` if the collector holds it. */
    const underSharedGcLock = <A>(f: Effect.Effect<A, LockIOError>): Effect.Effect<A | Busy, LockIOError> =>
      gcFdLock.withPermits(1)(Effect.uninterruptible(Effect.gen(function*() {
        const fd = yield* Option.match(yield* Ref.get(gcFd), {
          onSome: Effect.succeed,
          onNone: () => Effect.tap(openCreating(files.gcLock), (fd) => Ref.set(gcFd, Option.some(fd)))
        })
        if (!(yield* tryFlock(fd, "shared", files.gcLock))) return busy
        return yield* f.pipe(Effect.ensuring(Effect.ignore(unflock(fd, files.gcLock))))
      })))

    // The current fiber's temp-roots session of this Lock, if any (per Lock: sessions of another store don't apply).
    const currentSession = FiberRef.unsafeMake<Option.Option<Session>>(Option.none())

    /** The session's appender (its file created now if needed), or None when it has closed. */
    const sessionAppender = (session: Session): Effect.Effect<Option.Option<Appender>, LockError> =>
      session.lock.withPermits(1)(Effect.gen(function*() {
        if (session.closed) return Option.none()
        if (session.fd === undefined) {
          yield* Effect.uninterruptible(
            Effect.tap(createTempRootsFile(session.file), (fd) => Effect.sync(() => (session.fd = fd)))
          )
        }
        const append: Appender = (bytes) =>
          session.lock.withPermits(1)(Effect.suspend(() =>
            session.closed || session.fd === undefined
              ? Effect.succeed(false)
              : Effect.as(writeAll(session.fd, bytes, session.file), true)
          ))
        return Option.some(append)
      }))

    /** Where this fiber's temp roots go now: its open session's file, else the process's. */
    const currentAppender: Effect.Effect<Appender, LockError> = Effect.gen(function*() {
      const session = yield* FiberRef.get(currentSession)
      if (Option.isSome(session)) {
        const append = yield* sessionAppender(session.value)
        if (Option.isSome(append)) return append.value
      }
      const file = yield* ownFile
      return (bytes) => Effect.as(appendOwnTempRoot(file, bytes), true)
    })
    /**
     * Before this process's temp-roots file goes: if a collector is running, it
     * is told every root first. Nix 2.8's collector reads its permanent roots
     * (keeping only those whose target is valid) before the temp-roots files,
     * so a path this process made valid meanwhile, with its temp-roots file
     * removed before the collector read it, would be neither: deleted while a
     * root points at it. A collector that starts after this check finds the
     * paths valid, so their permanent roots count. Waits at most 60 s.
     */
    const handOffRoots = (roots: ReadonlyArray<string>): Effect.Effect<void, LockError> =>
      waitFor(
        Effect.gen(function*() {
          // No collector running (the shared GC lock could be taken): nothing to hand off.
          if (!isBusy(yield* underSharedGcLock(Effect.void))) return
          if (!(yield* sendRootsToCollector(files.gcSocket, roots))) return yield* Effect.fail(busy)
        }),
        files.gcLock,
        "waiting for the garbage collector to accept the temporary roots...",
        // Bounded: an exit must not hang on a collector that serves no socket (a read-only one).
        { timeout: "60 seconds" }
      )

    const addTempRoot = (storePath: string): Effect.Effect<void, LockError> =>
      Effect.gen(function*() {
        yield* checkStorePath(layout.storeDir, storePath)
        // A read-only store adds nothing, so it has nothing to protect from the collector.
        if (readOnly) return
        const bytes = encodeTempRoot(storePath)
        // Once more if the session closed between choosing its file and appending (then: the process's file).
        for (;;) {
          const append = yield* currentAppender
          const attempt = Effect.gen(function*() {
            const done = yield* underSharedGcLock(append(bytes))
            if (!isBusy(done)) return done
            // The collector is running: tell it about the root, then record it for later collections.
            if (!(yield* sendRootToCollector(files.gcSocket, storePath))) return yield* Effect.fail(busy)
            return yield* append(bytes)
          })
          if (
            yield* waitFor(attempt, files.gcLock, "waiting for the garbage collector to accept a temporary root...")
          ) {
            return
          }
        }
      }).pipe(Effect.withSpan("Lock.addTempRoot", { attributes: { storePath } }))

    const addTempRoots = (storePaths: ReadonlyArray<string>): Effect.Effect<void, LockError> =>
      Effect.gen(function*() {
        if (storePaths.length === 0) return
        for (const p of storePaths) yield* checkStorePath(layout.storeDir, p)
        if (readOnly) return
        const append = yield* currentAppender
        const done = yield* underSharedGcLock(append(Buffer.concat(storePaths.map(encodeTempRoot))))
        if (done === true) return
        // The collector is running (or the session just closed): path by path, each sent to it first.
        for (const p of storePaths) yield* addTempRoot(p)
      }).pipe(Effect.withSpan("Lock.addTempRoots", { attributes: { count: storePaths.length } }))

    const tempRootSession: Effect.Effect<void, never, Scope.Scope> = readOnly ? Effect.void : Effect.gen(function*() {
      const session: Session = {
        file: path.join(files.tempRootsDir, nextSessionFileName()),
        lock: yield* Effect.makeSemaphore(1),
        fd: undefined,
        closed: false
      }
      // Registered before the FiberRef's own finalizer, so it runs after it (the fiber leaves the session first).
      yield* Effect.addFinalizer(() =>
        session.lock.withPermits(1)(Effect.suspend(() => {
          session.closed = true
          const fd = session.fd
          if (fd === undefined) return Effect.void
          session.fd = undefined
          // A running collector is told the session's roots first (see handOffRoots: a path the
          // session made valid must not fall between Nix's roots scan and its temp-roots scan).
          const handOff = Effect.ignore(Effect.flatMap(readAll(fd, session.file), (bytes) => {
            const roots = parseTempRoots(bytes)
            return roots.length === 0 ? Effect.void : handOffRoots(roots)
          }))
          // As Nix releases its file: unlink while still holding the lock, then close.
          return Effect.zipRight(handOff, Effect.zipRight(unlinkQuiet(session.file), closeFd(fd)))
        }))
      )
      yield* Effect.locallyScoped(currentSession, Option.some(session))
    }).pipe(Effect.withSpan("Lock.tempRootSession"))

    return {
      ...ops,
      addTempRoot,
      addTempRoots,
      tempRootSession,
      readTempRoots: (options) =>
        readTempRootsDir(files.tempRootsDir, options?.removeDead ?? true, readOnly).pipe(
          Effect.withSpan("Lock.readTempRoots")
        ),
      // Read-only: no socket (it would be a file in the state directory); a read-only collector deletes nothing.
      serveTempRoots: (onRoot) =>
        readOnly ? Effect.void : serveGcRoots(files.gcSocket, onRoot).pipe(Effect.withSpan("Lock.serveTempRoots"))
    } satisfies LockShape
  })

/** The live Lock layer for the store laid out as `layout`. */
export const layer = (layout: StoreLayout, options: LockOptions = {}): Layer.Layer<Lock> =>
  Layer.scoped(Lock, make(layout, options))
