/**
 * The local store: the {@link Store} service over SQLite metadata
 * ({@link StoreDb}) and `flock(2)` locks ({@link Lock}).
 *
 * `layer(options)` gives a ready store (and its StoreDb and Lock services) for
 * one layout: it takes the big lock shared for its whole life (exclusive only
 * while upgrading an old schema, as Nix does), opens, creates or upgrades the
 * database, and closes everything with its scope. `layerTest` is the same
 * over a fresh temporary directory, removed afterwards.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { makeStoreDb } from "../db/makeStoreDb.js"
import { isWritableDir } from "../db/open.js"
import type { UpgradeProgress } from "../db/upgrade.js"
import { PathNotValidError, ReadOnlyStoreError } from "../db/errors.js"
import { dumpPath } from "../nar/dump.js"
import { makeStoreLayout, toRealPath, type StoreLayout } from "../schema/StoreLayout.js"
import { Lock, type LockError } from "../services/Lock.js"
import { Store, type StoreError, type StoreShape } from "../services/Store.js"
import { StoreDb, type OpenError } from "../services/StoreDb.js"
import { addTextToStore, addToStore } from "../store/addToStore.js"
import type { StoreParts } from "../store/context.js"
import { deletePaths } from "../store/deletePaths.js"
import { removeTree } from "../store/removeTree.js"
import { derivationOutputsFromBytes, isDerivationPath } from "../store/drvOutputs.js"
import { exportPaths, importPaths } from "../store/exportImport.js"
import { optimisePath, optimiseStore } from "../store/optimise.js"
import { verifyPath, verifyStore } from "../store/verify.js"
import { ensureStateLayout, type StateLayoutError } from "../store/stateLayout.js"
import * as LockLive from "./Lock.js"

/** How to open a local store. */
export interface StoreOptions {
  readonly layout: StoreLayout
  /** Refuse every write, create nothing (also implied when the existing database is not writable). */
  readonly readOnly?: boolean | undefined
  /** `false`: SQLite synchronous = OFF (Nix's fsync-metadata). */
  readonly fsyncMetadata?: boolean | undefined
  /** Longest wait for a busy database before failing, in seconds (default 300). */
  readonly busyMaxWaitSeconds?: number | undefined
  /** Reports schema-upgrade progress (the CLI shows it on a terminal). */
  readonly onUpgradeProgress?: ((progress: UpgradeProgress) => void) | undefined
  /** `auto-optimise-store`: hard-link each new path's files through `.links` (default false). */
  readonly autoOptimise?: boolean | undefined
}

/**
 * Whether an existing store is opened read-only: its database (or the
 * database directory) is not writable by this process (another user's store,
 * a read-only mount). A store without a database is to be created.
 */
const existingStoreIsReadOnly = (layout: StoreLayout): boolean => {
  const dbFile = path.join(layout.dbDir, "db.sqlite")
  if (!fs.existsSync(dbFile) && !fs.existsSync(path.join(layout.dbDir, "schema"))) return false
  if (!isWritableDir(layout.dbDir)) return true
  try {
    fs.accessSync(dbFile, fs.constants.W_OK)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ENOENT"
  }
}

/**
 * The StoreDb service of a layout, opened while holding the big lock shared
 * (exclusive during an upgrade). Requires the Lock service.
 */
export const storeDbLayer = (options: StoreOptions): Layer.Layer<StoreDb, OpenError | LockError | StateLayoutError, Lock> =>
  Layer.scoped(
    StoreDb,
    Effect.gen(function*() {
      const { layout } = options
      // Read-only (asked for, or the store is not ours to write): nothing is created or locked.
      const readOnly = options.readOnly === true || existingStoreIsReadOnly(layout)
      const busyPolicy = { maxWait: `${options.busyMaxWaitSeconds ?? 300} seconds` as const }
      const lock = yield* Lock
      if (readOnly) {
        // The big lock shared, as every reader takes it (no schema upgrade under us). With the
        // read-only Lock layer of `layer` this opens an existing lock file for reading and
        // creates none; a lock file this user may not read is gone without.
        yield* lock.bigLock("shared", { waitMessage: "waiting for the big Nix store lock..." })
        return yield* makeStoreDb({ layout, readOnly: true, busyPolicy })
      }
      yield* ensureStateLayout(layout)
      const big = yield* lock.bigLock("shared", { waitMessage: "waiting for the big Nix store lock..." })
      return yield* makeStoreDb({
        layout,
        fsyncMetadata: options.fsyncMetadata,
        busyPolicy,
        onProgress: options.onUpgradeProgress,
        upgradeLock: (upgrade) =>
          Effect.acquireUseRelease(
            big.relock("exclusive", { waitMessage: "waiting for exclusive access to the Nix store..." }),
            () => upgrade,
            () => Effect.ignore(big.relock("shared"))
          ) as never,
        readDerivationOutputs: (drvPath) =>
          Effect.tryPromise(() => fsp.readFile(toRealPath(layout, drvPath))).pipe(
            Effect.flatMap((bytes) => derivationOutputsFromBytes(bytes, drvPath)),
            Effect.option,
            Effect.map((o) => (o._tag === "Some" ? o.value : undefined))
          )
      })
    })
  )

/** Builds the Store service from StoreDb and Lock. */
export const make = (
  layout: StoreLayout,
  options: { readonly autoOptimise?: boolean | undefined } = {}
): Effect.Effect<StoreShape, never, StoreDb | Lock> =>
  Effect.gen(function*() {
    const db = yield* StoreDb
    const lock = yield* Lock
    const parts: StoreParts = { layout, db, lock, autoOptimise: options.autoOptimise === true }
    // In a read-only store, writes fail before they touch any file (no temp copies, no lock files).
    const writable = <A, E, R>(operation: string, eff: Effect.Effect<A, E, R>) =>
      db.readOnly ? Effect.fail(new ReadOnlyStoreError({ operation })) : eff
    const shape: StoreShape = {
      ...db,
      layout,
      addToStore: (src, options = {}) => writable("add to the store", addToStore(parts, src, options)),
      addTextToStore: (name, contents, references) =>
        writable("add to the store", Effect.gen(function*() {
          if (!isDerivationPath(name)) return yield* addTextToStore(parts, name, contents, references)
          const bytes = typeof contents === "string" ? new TextEncoder().encode(contents) : contents
          const derivationOutputs = yield* derivationOutputsFromBytes(bytes, name)
          return yield* addTextToStore(parts, name, bytes, references, { derivationOutputs })
        })),
      narFromPath: (p) =>
        Stream.unwrap(Effect.map(db.isValidPath(p), (valid): Stream.Stream<Uint8Array, StoreError> =>
          valid ? dumpPath(toRealPath(layout, p)) : Stream.fail(new PathNotValidError({ path: p })))).pipe(
            Stream.withSpan("Store.narFromPath", { attributes: { path: p } })
          ),
      exportPaths: (paths) => exportPaths(parts, paths),
      importPaths: (stream) => writable("import paths", importPaths(parts, stream)),
      verifyStore: (options) => verifyStore(parts, options),
      verifyPath: (p) => verifyPath(parts, p),
      deletePaths: (paths) => writable("delete paths", deletePaths(parts, paths)),
      optimiseStore: () => writable("optimise the store", optimiseStore(parts)),
      optimisePath: (p) =>
        writable("optimise the store", Effect.gen(function*() {
          yield* lock.addTempRoot(p)
          if (!(yield* db.isValidPath(p))) return yield* new PathNotValidError({ path: p })
          return yield* optimisePath(layout, toRealPath(layout, p))
        }))
    }
    return shape
  })

/**
 * A local store with its StoreDb and Lock services, for `options.layout`.
 * Read-only (asked for, or an existing store this process may not write):
 * nothing in the store is created, written or locked for writing.
 */
export const layer = (options: StoreOptions) =>
  Layer.unwrapEffect(Effect.sync(() => {
    const readOnly = options.readOnly === true || existingStoreIsReadOnly(options.layout)
    const lockLayer = LockLive.layer(options.layout, { readOnly })
    const dbLayer = storeDbLayer({ ...options, readOnly }).pipe(Layer.provideMerge(lockLayer))
    return Layer.effect(Store, make(options.layout, { autoOptimise: options.autoOptimise })).pipe(Layer.provideMerge(dbLayer))
  }))

/** A local store in a fresh temporary directory (removed when the layer's scope closes). */
export const layerTest = Layer.unwrapScoped(
  Effect.gen(function*() {
    const root = yield* Effect.acquireRelease(
      Effect.promise(() => fsp.mkdtemp(path.join(os.tmpdir(), "tsnix-store-"))),
      (dir) =>
        // Store objects are read-only: the store's remover makes them writable first.
        Effect.ignore(removeTree(dir))
    )
    return layer({ layout: makeStoreLayout(root), fsyncMetadata: false })
  })
)
