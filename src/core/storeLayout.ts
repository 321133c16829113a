/**
 * Where a local store keeps its files.
 *
 * The directories are Nix 2.8's `LocalFSStoreConfig` settings, with the same
 * defaults: the logical store directory `store` (the one that appears in store
 * paths and hashes: `/nix/store` unless `NIX_STORE_DIR` or `store=` says
 * otherwise) and, for a "chroot store" with a `root`:
 *
 * - `real`  = ROOT/nix/store (whatever the logical directory is),
 * - `state` = ROOT/nix/var/nix (db/, gcroots/, profiles/, temproots/, gc.lock),
 * - `log`   = ROOT/nix/var/log/nix.
 *
 * Without a root: `real` = the logical directory, `state` = `$NIX_STATE_DIR`
 * (default /nix/var/nix), `log` = `$NIX_LOG_DIR` (default /nix/var/log/nix).
 * Each of them can be set on its own (`state=`, `real=`, `log=`), as in Nix.
 *
 * @since 0.1.0
 */
import * as path from "node:path"

/** The resolved directories of one local store. */
export interface StoreLayout {
  /** The chroot root; `""` for a store without one (then the other directories are given). */
  readonly root: string
  /** Logical store directory, as it appears in store paths (`/nix/store`). */
  readonly storeDir: string
  /** Where store objects really live (`ROOT/nix/store`, or the logical directory without a root). */
  readonly realStoreDir: string
  /** State directory (`ROOT/nix/var/nix`). */
  readonly stateDir: string
  /** Database directory (`stateDir/db`). */
  readonly dbDir: string
  /** Build-log directory (`ROOT/nix/var/log/nix`). */
  readonly logDir: string
}

/** The default logical store directory. */
export const defaultStoreDir = "/nix/store"

/** Nix's default state directory (`NIX_STATE_DIR`). */
export const defaultStateDir = "/nix/var/nix"

/** Nix's default log directory (`NIX_LOG_DIR`). */
export const defaultLogDir = "/nix/var/log/nix"

/** The settings of a local store, as Nix's `local?root=…&store=…&state=…&real=…&log=…` gives them. */
export interface StoreLayoutSettings {
  /** Directory prefixed to the others (Nix's `root`); absent or `""` for none. */
  readonly root?: string | undefined
  /** The logical store directory (`store`); default {@link defaultStoreDir}. */
  readonly storeDir?: string | undefined
  /** `state`; default ROOT/nix/var/nix, or `defaultStateDir` without a root. */
  readonly stateDir?: string | undefined
  /** `log`; default ROOT/nix/var/log/nix, or `defaultLogDir` without a root. */
  readonly logDir?: string | undefined
  /** `real`; default ROOT/nix/store, or the logical directory without a root. */
  readonly realStoreDir?: string | undefined
  /** The state directory used without a root when `stateDir` is not given (`$NIX_STATE_DIR`). */
  readonly defaultStateDir?: string | undefined
  /** The log directory used without a root when `logDir` is not given (`$NIX_LOG_DIR`). */
  readonly defaultLogDir?: string | undefined
}

/** Nix's canonPath for an absolute directory: no `.`/`..`, no duplicate or trailing slash. */
const canon = (p: string): string => path.posix.normalize(p).replace(/\/+$/, "") || "/"

/** Builds a layout from Nix's local-store settings (see the module comment for the defaults). */
export const localStoreLayout = (settings: StoreLayoutSettings): StoreLayout => {
  const root = settings.root === undefined || settings.root === "" ? "" : path.resolve(settings.root)
  const storeDir = canon(settings.storeDir ?? defaultStoreDir)
  const under = (sub: string) => root + "/" + sub
  const stateDir = canon(
    settings.stateDir ?? (root !== "" ? under("nix/var/nix") : settings.defaultStateDir ?? defaultStateDir)
  )
  return {
    root,
    storeDir,
    realStoreDir: canon(settings.realStoreDir ?? (root !== "" ? under("nix/store") : storeDir)),
    stateDir,
    dbDir: path.join(stateDir, "db"),
    logDir: canon(settings.logDir ?? (root !== "" ? under("nix/var/log/nix") : settings.defaultLogDir ?? defaultLogDir))
  }
}

/**
 * Builds the layout of a chroot store rooted at `root` whose logical store
 * directory is `storeDir` (files in ROOT/nix/store, state in ROOT/nix/var/nix).
 */
export const makeStoreLayout = (root: string, storeDir: string = defaultStoreDir): StoreLayout =>
  localStoreLayout({ root: path.resolve(root), storeDir })

/**
 * Maps a logical store path (`/nix/store/…-name[/sub]`) to the file that
 * holds it (under the real store directory). A path outside the logical store
 * directory is returned as it is.
 */
export const toRealPath = (layout: StoreLayout, logicalPath: string): string => {
  const dir = layout.storeDir
  if (logicalPath === dir) return layout.realStoreDir
  if (dir === "/") return layout.realStoreDir === "/" ? logicalPath : layout.realStoreDir + logicalPath
  if (logicalPath.startsWith(dir + "/")) return layout.realStoreDir + logicalPath.slice(dir.length)
  return logicalPath
}
