/**
 * The symlinks of permanent GC roots, as Nix 2.8's `addPermRoot` makes them,
 * shared by every store that keeps its roots as links on this machine (the
 * local store, and a daemon's client, which makes the link and registers it
 * with AddIndirectRoot). Each link is written under a temporary name and
 * renamed into place, so a concurrent collector sees the old link or the new
 * one, never none.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { randomInt } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { GcIoError, GcRootRefusedError } from "../../services/errors/gc.js"

/** Whether `p` is below the store directory `storeDir`. */
export const isInStore = (storeDir: string, p: string): boolean => p.startsWith(storeDir + "/")

/** Nix's `makeSymlink`: create the parent directories, a temporary link, then rename it over `link`. */
export const makeSymlink = (link: string, target: string): Effect.Effect<void, GcIoError> =>
  Effect.gen(function*() {
    const io = (operation: string, p: string) => (cause: unknown) => new GcIoError({ path: p, operation, cause })
    const dir = path.dirname(link)
    yield* Effect.tryPromise({ try: () => fs.mkdir(dir, { recursive: true }), catch: io("creating directory", dir) })
    const temp = `${link}.tmp-${process.pid}-${randomInt(2 ** 31)}`
    yield* Effect.tryPromise({ try: () => fs.symlink(target, temp), catch: io("creating symlink", temp) })
    yield* Effect.tryPromise({ try: () => fs.rename(temp, link), catch: io(`cannot rename '${temp}' to`, link) }).pipe(
      Effect.tapError(() => Effect.promise(() => fs.unlink(temp).catch(() => undefined)))
    )
  })

/**
 * Nix's checks before `addPermRoot` makes `rootPath` a root: returns the
 * root's absolute path; refuses a root inside the store, and an existing file
 * that is not a symlink into the store.
 */
export const checkRootLink = (storeDir: string, rootPath: string): Effect.Effect<string, GcRootRefusedError> =>
  Effect.gen(function*() {
    const root = path.resolve(rootPath)
    if (isInStore(storeDir, root)) {
      return yield* new GcRootRefusedError({
        message: `creating a garbage collector root (${root}) in the Nix store is forbidden ` +
          "(are you running nix-build inside the store?)"
      })
    }
    const existing = yield* Effect.promise(() => fs.lstat(root).catch(() => undefined))
    if (existing !== undefined) {
      const target = existing.isSymbolicLink()
        ? yield* Effect.promise(() => fs.readlink(root).catch(() => ""))
        : undefined
      if (target === undefined || !isInStore(storeDir, target)) {
        return yield* new GcRootRefusedError({ message: `cannot create symlink '${root}'; already exists` })
      }
    }
    return root
  })

/** Removes the root link at `rootPath` (absolute) if it points into the store; anything else is left alone. */
export const removeRootLink = (storeDir: string, root: string): Effect.Effect<void, GcIoError> =>
  Effect.gen(function*() {
    const target = yield* Effect.promise(() => fs.readlink(root).catch(() => undefined))
    if (target !== undefined && isInStore(storeDir, target)) {
      yield* Effect.tryPromise({
        try: () => fs.unlink(root),
        catch: (cause) => new GcIoError({ path: root, operation: "removing", cause })
      })
    }
  })
