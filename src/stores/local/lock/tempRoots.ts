/**
 * Nix 2.8's temporary-roots files on disk (`<state>/temproots/<pid>`).
 *
 * - The owner creates its file (`createTempRootsFile`): a file already there
 *   with its pid must be stale and is removed; the new file is write-locked
 *   (exclusive) for the life of the process; if it turns out non-empty after
 *   locking, a collector deleted it meanwhile: start again.
 * - The collector (`findTempRoots`) opens each file and tries a non-blocking
 *   write lock: success means the owner is dead (the file is then unlinked and
 *   `d` written into it); otherwise it reads the NUL-terminated roots.
 *
 * The owner's file is shared by every live Lock layer of this process (one
 * file per pid, as in Nix), reference-counted, and removed with the last one.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import * as path from "node:path"
import type { LockError, LockIOError, TempRoots } from "../../../services/Lock.js"
import { busy, waitFor } from "./acquire.js"
import {
  closeFd,
  exists,
  fdSize,
  listDir,
  mkdirp,
  openLockFile,
  openLockFileReadOnly,
  readAll,
  tryFlock,
  unlinkQuiet,
  writeAll
} from "./flock.js"
import { parseTempRoots } from "./tempRootsFormat.js"

/** This process's open, write-locked temp-roots file. */
export interface OwnTempRootsFile {
  /** The file. */
  readonly path: string
  /** Its descriptor (holding the exclusive flock). */
  readonly fd: number
  /** Serialises appends. */
  readonly appendLock: Effect.Semaphore
}

interface Entry {
  readonly file: OwnTempRootsFile
  refs: number
}

/** The files owned by this process, by path (normally one). */
const owned = new Map<string, Entry>()
/** Serialises creation and release of owned files. */
const registryLock = Effect.unsafeMakeSemaphore(1)

/** One attempt of Nix's `createTempRootsFile` loop body, without waiting. */
const tryCreate = (file: string): Effect.Effect<Option.Option<number>, LockIOError> =>
  Effect.gen(function*() {
    if (yield* exists(file)) yield* unlinkQuiet(file) // it *must* be stale: no two live processes share a pid
    const fd = yield* openLockFile(file, true)
    if (fd === undefined) return Option.none()
    const ok = yield* tryFlock(fd, "exclusive", file).pipe(Effect.tapError(() => closeFd(fd)))
    // Not locked: a collector is looking at our fresh file. Non-empty: a collector deleted it. Retry both.
    const size = ok ? yield* fdSize(fd, file).pipe(Effect.tapError(() => closeFd(fd))) : -1
    if (ok && size === 0) return Option.some(fd)
    yield* closeFd(fd)
    return Option.none()
  })

/**
 * Creates, write-locks and opens the temp-roots file `file` (Nix's
 * `createTempRootsFile`, waiting while a collector examines or deletes it).
 * Returns its descriptor; the caller owns it (unlink, then close, to release).
 */
export const createTempRootsFile = (file: string): Effect.Effect<number, LockError> =>
  Effect.zipRight(
    mkdirp(path.dirname(file)),
    waitFor(
      Effect.uninterruptible(
        Effect.flatMap(tryCreate(file), (o) => Option.isNone(o) ? Effect.fail(busy) : Effect.succeed(o.value))
      ),
      file,
      `waiting for the temporary roots file '${file}'...`
    )
  )

let sessionCounter = 0

/**
 * The name of a new temp-roots session file, `<pid>-<n>` (`n` counts this
 * process's sessions). Nix 2.8's collector reads the pid with `std::stoi`,
 * which stops at the `-`, so it treats the file like any process's file.
 */
export const nextSessionFileName = (): string => `${process.pid}-${++sessionCounter}`

/**
 * The pid in a temp-roots file name, as Nix 2.8 reads it (`std::stoi`: the
 * leading decimal digits; `<pid>-<n>` gives `<pid>`). The name itself when
 * it does not start with digits.
 */
export const pidOfTempRootsFile = (name: string): string => /^\d+/.exec(name)?.[0] ?? name

/**
 * Opens (creating it on first use) this process's temp-roots file
 * `<tempRootsDir>/<pid>` and counts one more user; pair with
 * {@link releaseOwnTempRootsFile}.
 */
export const acquireOwnTempRootsFile = (tempRootsDir: string): Effect.Effect<OwnTempRootsFile, LockError> => {
  const file = path.join(tempRootsDir, String(process.pid))
  return registryLock.withPermits(1)(Effect.gen(function*() {
    const entry = owned.get(file)
    if (entry !== undefined) {
      entry.refs++
      return entry.file
    }
    yield* mkdirp(tempRootsDir)
    const attempt = Effect.uninterruptible(
      Effect.flatMap(tryCreate(file), (o) =>
        Option.isNone(o) ? Effect.fail(busy) : Effect.sync(() => {
          const own: OwnTempRootsFile = { path: file, fd: o.value, appendLock: Effect.unsafeMakeSemaphore(1) }
          owned.set(file, { file: own, refs: 1 })
          return own
        }))
    )
    return yield* waitFor(attempt, file, `waiting for the temporary roots file '${file}'...`)
  }))
}

/**
 * Counts one user less; the last one removes the file (while still holding its
 * lock) and closes it. Before that, `beforeRemoval` gets the roots the file
 * holds (if any), so it can hand them to a collector still running (see the
 * Lock layer); its failures are ignored.
 */
export const releaseOwnTempRootsFile = (
  file: OwnTempRootsFile,
  beforeRemoval?: (roots: ReadonlyArray<string>) => Effect.Effect<void, LockError>
): Effect.Effect<void> =>
  registryLock.withPermits(1)(Effect.suspend(() => {
    const entry = owned.get(file.path)
    if (entry === undefined || entry.file !== file) return Effect.void
    entry.refs--
    if (entry.refs > 0) return Effect.void
    owned.delete(file.path)
    const handOff = beforeRemoval === undefined ? Effect.void : Effect.ignore(
      Effect.flatMap(readAll(file.fd, file.path), (bytes) => {
        const roots = parseTempRoots(bytes)
        return roots.length === 0 ? Effect.void : beforeRemoval(roots)
      })
    )
    return file.appendLock.withPermits(1)(
      Effect.zipRight(handOff, Effect.zipRight(unlinkQuiet(file.path), closeFd(file.fd)))
    )
  }))

/** Appends `bytes` to this process's temp-roots file. */
export const appendOwnTempRoot = (file: OwnTempRootsFile, bytes: Uint8Array): Effect.Effect<void, LockIOError> =>
  file.appendLock.withPermits(1)(writeAll(file.fd, bytes, file.path))

type FileResult = { readonly name: string; readonly dead: boolean; readonly roots: ReadonlyArray<string> }

/** Examines one temp-roots file as Nix's `findTempRoots` does. */
const examine = (
  dir: string,
  name: string,
  removeDead: boolean,
  readOnly: boolean
): Effect.Effect<Option.Option<FileResult>, LockIOError> =>
  Effect.gen(function*() {
    const file = path.join(dir, name)
    // Read-only: opened for reading (another user's files may be unreadable: skipped), never removed.
    const fd = yield* (readOnly ? openLockFileReadOnly(file) : openLockFile(file, false))
    if (fd === undefined) return Option.none() // it is fine for the file to have disappeared
    return yield* Effect.gen(function*() {
      if (yield* tryFlock(fd, "exclusive", file)) {
        // Only possible if the owner died: its roots no longer matter.
        if (removeDead && !readOnly) {
          yield* unlinkQuiet(file)
          yield* writeAll(fd, new Uint8Array([0x64]), file)
        }
        return Option.some({ name, dead: true, roots: [] })
      }
      return Option.some({ name, dead: false, roots: parseTempRoots(yield* readAll(fd, file)) })
    }).pipe(Effect.ensuring(closeFd(fd)), Effect.uninterruptible)
  })

/**
 * Reads every temp-roots file in `tempRootsDir` (hidden files ignored, as
 * Nix does). See {@link TempRoots}. `readOnly` (a store opened read-only):
 * files are opened for reading only, unreadable ones skipped, none removed.
 */
export const readTempRootsDir = (
  tempRootsDir: string,
  removeDead: boolean,
  readOnly = false
): Effect.Effect<TempRoots, LockIOError> =>
  Effect.gen(function*() {
    const names = (yield* listDir(tempRootsDir)).filter((n) => !n.startsWith(".")).sort()
    const results = yield* Effect.forEach(names, (n) => examine(tempRootsDir, n, removeDead, readOnly), {
      concurrency: 8
    })
    const roots = new Set<string>()
    const byProcess = new Map<string, ReadonlyArray<string>>()
    const deadFiles: Array<string> = []
    for (const r of results) {
      if (Option.isNone(r)) continue
      if (r.value.dead) {
        deadFiles.push(path.join(tempRootsDir, r.value.name))
      } else {
        byProcess.set(r.value.name, r.value.roots)
        for (const root of r.value.roots) roots.add(root)
      }
    }
    return { roots, byProcess, deadFiles }
  })
