/**
 * Where a local store keeps its files.
 *
 * tsnix uses Nix's "chroot store" layout: the logical store directory (the one
 * that appears in store paths and hashes) stays `/nix/store` unless configured,
 * while the files live under a root directory: `ROOT/nix/store` for store
 * objects and `ROOT/nix/var/nix` for state (db/, gcroots/, profiles/,
 * temproots/, gc.lock). This mirrors `nix-store --store ROOT`.
 *
 * @since 0.1.0
 */
import * as path from "node:path"

/** The resolved directories of one local store. */
export interface StoreLayout {
  /** The chroot root; `/` for a store that lives at its logical location. */
  readonly root: string
  /** Logical store directory, as it appears in store paths (`/nix/store`). */
  readonly storeDir: string
  /** Where store objects really live (`ROOT` + storeDir). */
  readonly realStoreDir: string
  /** State directory (`ROOT/nix/var/nix`). */
  readonly stateDir: string
  /** Database directory (`stateDir/db`). */
  readonly dbDir: string
}

/** The default logical store directory. */
export const defaultStoreDir = "/nix/store"

/**
 * Builds the layout of a chroot store rooted at `root` whose logical store
 * directory is `storeDir`.
 */
export const makeStoreLayout = (root: string, storeDir: string = defaultStoreDir): StoreLayout => {
  const absRoot = path.resolve(root)
  const logical = path.posix.normalize(storeDir).replace(/\/+$/, "") || "/"
  const stateDir = path.join(absRoot, "nix/var/nix")
  return {
    root: absRoot,
    storeDir: logical,
    realStoreDir: path.join(absRoot, logical),
    stateDir,
    dbDir: path.join(stateDir, "db")
  }
}

/**
 * Maps a logical store path (`/nix/store/…-name[/sub]`) to the file that
 * holds it under the layout's root.
 */
export const toRealPath = (layout: StoreLayout, logicalPath: string): string =>
  path.join(layout.root, logicalPath)
