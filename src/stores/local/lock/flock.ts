/**
 * Thin Effect wrappers over `flock(2)` (through the `fs-ext` native addon) and
 * the few file operations Nix's lock protocol needs.
 *
 * Only non-blocking `flock` calls are exposed (`LOCK_NB`): they return at once,
 * so calling the synchronous binding neither blocks the event loop nor ties up
 * a libuv thread. Waiting is done by the caller (see `acquire.ts`). The file
 * operations on lock files (open, fstat, write, close, unlink, lstat) are
 * synchronous too, as Nix's are: each takes microseconds on a local file, and
 * going through the thread pool cost a wake-up per call (several per build;
 * on a loaded machine each one waited for the scheduler).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { LockIOError } from "../../../services/Lock.js"
import type { LockMode } from "../../../services/Lock.js"

/**
 * The part of `fs-ext` (a CommonJS addon without type declarations) that we
 * use. `flockSync` throws an Error with `code` (`EAGAIN`, …) on failure.
 */
interface FsExt {
  readonly flockSync: (fd: number, flags: "sh" | "ex" | "shnb" | "exnb" | "un") => void
}

// fs-ext ships no types: load it through require and give it the interface above. Loaded on
// first use, not with the module: commands that take no lock never load the addon (and a V8
// start-up snapshot, which cannot hold a native addon, can include this module).
let fsExtModule: FsExt | undefined
const fsExt = (): FsExt => (fsExtModule ??= createRequire(import.meta.url)("fs-ext") as FsExt)

/** The errno code of a Node system error, if any. */
export const errnoCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const ioError = (path: string, operation: string) => (cause: unknown) => {
  const code = errnoCode(cause)
  return new LockIOError(code === undefined ? { path, operation, cause } : { path, operation, code, cause })
}

/**
 * Tries to take (or convert to) a `mode` lock on `fd` without blocking.
 * Succeeds with `true` if the lock is held, `false` if another open file
 * description holds a conflicting lock. Note: on Linux a failed conversion of a
 * held lock drops the lock held before.
 */
export const tryFlock = (fd: number, mode: LockMode, path: string): Effect.Effect<boolean, LockIOError> =>
  Effect.suspend(() => {
    for (;;) {
      try {
        fsExt().flockSync(fd, mode === "shared" ? "shnb" : "exnb")
        return Effect.succeed(true)
      } catch (e) {
        const code = errnoCode(e)
        if (code === "EAGAIN" || code === "EWOULDBLOCK") return Effect.succeed(false)
        if (code === "EINTR") continue
        return Effect.fail(ioError(path, "flock")(e))
      }
    }
  })

/** Releases the lock held through `fd` (LOCK_UN; never blocks). */
export const unflock = (fd: number, path: string): Effect.Effect<void, LockIOError> =>
  Effect.try({ try: () => fsExt().flockSync(fd, "un"), catch: ioError(path, "unlock") })

/**
 * Opens a lock file read-write (Nix's `openLockFile`), creating it with mode
 * 0600 when `create`. Without `create`, a missing file gives `undefined`.
 * Node opens with O_CLOEXEC, so child processes never inherit the lock.
 */
export const openLockFile = (path: string, create: boolean): Effect.Effect<number | undefined, LockIOError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(
        fs.openSync(path, create ? fs.constants.O_RDWR | fs.constants.O_CREAT : fs.constants.O_RDWR, 0o600)
      )
    } catch (err) {
      return !create && errnoCode(err) === "ENOENT"
        ? Effect.succeed(undefined)
        : Effect.fail(ioError(path, "open")(err))
    }
  })

/**
 * Opens an existing lock file read-only, for a store opened read-only: flock
 * works on such a descriptor, and nothing is created. A file that is missing
 * or that this user may not read gives `undefined` (the caller then goes
 * without that lock).
 */
export const openLockFileReadOnly = (path: string): Effect.Effect<number | undefined, LockIOError> =>
  Effect.async<number | undefined, LockIOError>((resume) => {
    fs.open(path, fs.constants.O_RDONLY, (err, fd) => {
      if (err === null) resume(Effect.succeed(fd))
      else if (err.code === "ENOENT" || err.code === "EACCES" || err.code === "EPERM") resume(Effect.succeed(undefined))
      else resume(Effect.fail(ioError(path, "open")(err)))
    })
  })

/** Closes `fd` (which releases its flock). Errors are ignored, as Nix does. */
export const closeFd = (fd: number): Effect.Effect<void> =>
  Effect.sync(() => {
    try {
      fs.closeSync(fd)
    } catch {
      // as close(2) errors were ignored before: the descriptor is gone either way
    }
  })

/** The size of the open file `fd`. */
export const fdSize = (fd: number, path: string): Effect.Effect<number, LockIOError> =>
  Effect.try({ try: () => fs.fstatSync(fd).size, catch: ioError(path, "fstat") })

/** Appends-at-offset: writes all of `data` at the current offset of `fd`. */
export const writeAll = (fd: number, data: Uint8Array, path: string): Effect.Effect<void, LockIOError> =>
  Effect.try({
    try: () => {
      for (let off = 0; off < data.length;) off += fs.writeSync(fd, data, off, data.length - off, null)
    },
    catch: ioError(path, "write")
  })

/** Reads the whole content of the open file `fd` from offset 0. */
export const readAll = (fd: number, path: string): Effect.Effect<Uint8Array, LockIOError> =>
  Effect.async<Uint8Array, LockIOError>((resume) => {
    const chunks: Array<Buffer> = []
    let pos = 0
    const step = (): void => {
      const buf = Buffer.allocUnsafe(65536)
      fs.read(fd, buf, 0, buf.length, pos, (err, n) => {
        if (err !== null) return resume(Effect.fail(ioError(path, "read")(err)))
        if (n === 0) return resume(Effect.succeed(Buffer.concat(chunks)))
        chunks.push(buf.subarray(0, n))
        pos += n
        step()
      })
    }
    step()
  })

/** Removes `path`; a missing file is not an error (removing a lock file is an optimisation). */
export const unlinkQuiet = (path: string): Effect.Effect<void> =>
  Effect.sync(() => {
    try {
      fs.unlinkSync(path)
    } catch {
      // already gone (or not ours to remove): quiet, as before
    }
  })

/** Creates `dir` and its parents. */
export const mkdirp = (dir: string): Effect.Effect<void, LockIOError> =>
  Effect.tryPromise({ try: () => fs.promises.mkdir(dir, { recursive: true }), catch: ioError(dir, "mkdir") }).pipe(
    Effect.asVoid
  )

/** Lists the entry names of `dir`; a missing directory is empty. */
export const listDir = (dir: string): Effect.Effect<ReadonlyArray<string>, LockIOError> =>
  Effect.tryPromise({ try: () => fs.promises.readdir(dir), catch: (e) => e }).pipe(
    Effect.catchAll((e) => errnoCode(e) === "ENOENT" ? Effect.succeed([]) : Effect.fail(ioError(dir, "readdir")(e)))
  )

/** Whether `path` exists (without following a final symlink). */
export const exists = (path: string): Effect.Effect<boolean> =>
  Effect.sync(() => fs.lstatSync(path, { throwIfNoEntry: false }) !== undefined)
