/**
 * Permanent GC roots made the way Nix 2.8's `addPermRoot` makes them: the
 * root is a symlink to the store path, and an indirect root registers it:
 * `<state>/gcroots/auto/<nix32(sha1(root))>` → the root's absolute path.
 * Each symlink is written under a temporary name and renamed into place, so a
 * concurrent collector sees the old link or the new one, never none.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { randomInt } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { hashBytes } from "../../../core/hash.js"
import { encodeNix32 } from "../../../core/nix32.js"
import type { StoreLayout } from "../../../core/storeLayout.js"
import { GcIoError, GcRootRefusedError } from "../../../services/errors/gc.js"

export { GcRootRefusedError } from "../../../services/errors/gc.js"

/** The name of the `gcroots/auto` link for a root at `rootPath` (absolute): nix32 of its SHA-1. */
export const indirectRootName = (rootPath: string): string => encodeNix32(hashBytes("sha1", rootPath).bytes)

const isInStore = (storeDir: string, p: string) => p.startsWith(storeDir + "/")

/** Nix's `makeSymlink`: create the parent directories, a temporary link, then rename it over `link`. */
const makeSymlink = (link: string, target: string) =>
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

/** Registers `rootPath` (absolute) as an indirect root: `gcroots/auto/<hash>` → `rootPath`. */
export const addIndirectRoot = (layout: StoreLayout, rootPath: string) =>
  makeSymlink(path.join(layout.stateDir, "gcroots", "auto", indirectRootName(rootPath)), rootPath)

/**
 * Nix's `addPermRoot`: makes `rootPath` (made absolute and canonical) a
 * symlink to `storePath` and registers it as an indirect root. Refuses a root
 * inside the store, and an existing file that is not a symlink into the store.
 * The caller should hold `storePath` as a temporary root meanwhile. Returns the
 * root's absolute path.
 */
export const addPermRoot = (layout: StoreLayout, storePath: string, rootPath: string) =>
  Effect.gen(function*() {
    const root = path.resolve(rootPath)
    if (isInStore(layout.storeDir, root)) {
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
      if (target === undefined || !isInStore(layout.storeDir, target)) {
        return yield* new GcRootRefusedError({ message: `cannot create symlink '${root}'; already exists` })
      }
    }
    yield* makeSymlink(root, storePath)
    yield* addIndirectRoot(layout, root)
    return root
  })

/**
 * Removes a permanent root made by {@link addPermRoot}: the symlink at
 * `rootPath` (only if it points into the store) and its indirect root.
 */
export const removeRoot = (layout: StoreLayout, rootPath: string) =>
  Effect.gen(function*() {
    const root = path.resolve(rootPath)
    const target = yield* Effect.promise(() => fs.readlink(root).catch(() => undefined))
    if (target !== undefined && isInStore(layout.storeDir, target)) {
      yield* Effect.tryPromise({
        try: () => fs.unlink(root),
        catch: (cause) => new GcIoError({ path: root, operation: "removing", cause })
      })
    }
    const auto = path.join(layout.stateDir, "gcroots", "auto", indirectRootName(root))
    yield* Effect.tryPromise({
      try: () =>
        fs.unlink(auto).catch((e: NodeJS.ErrnoException) => e.code === "ENOENT" ? undefined : Promise.reject(e)),
      catch: (cause) => new GcIoError({ path: auto, operation: "removing", cause })
    })
  })
