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
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { hashBytes } from "../../../core/hash.js"
import { encodeNix32 } from "../../../core/nix32.js"
import type { StoreLayout } from "../../../core/storeLayout.js"
import { GcIoError } from "../../../services/errors/gc.js"
import { checkRootLink, makeSymlink, removeRootLink } from "../../generic/rootLinks.js"

export { GcRootRefusedError } from "../../../services/errors/gc.js"

/** The name of the `gcroots/auto` link for a root at `rootPath` (absolute): nix32 of its SHA-1. */
export const indirectRootName = (rootPath: string): string => encodeNix32(hashBytes("sha1", rootPath).bytes)

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
    const root = yield* checkRootLink(layout.storeDir, rootPath)
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
    yield* removeRootLink(layout.storeDir, root)
    const auto = path.join(layout.stateDir, "gcroots", "auto", indirectRootName(root))
    yield* Effect.tryPromise({
      try: () =>
        fs.unlink(auto).catch((e: NodeJS.ErrnoException) => e.code === "ENOENT" ? undefined : Promise.reject(e)),
      catch: (cause) => new GcIoError({ path: auto, operation: "removing", cause })
    })
  })
