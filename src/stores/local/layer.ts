/**
 * The local store: the {@link Store} and {@link LocalStore} services over
 * SQLite metadata ({@link StoreDb}), `flock(2)` locks ({@link Lock}) and the
 * {@link Derivations} service (which parses the `.drv` files it adds).
 *
 * `layerLive(options)` (alias `layer`) gives a ready store (and its StoreDb,
 * Lock and Derivations services) for one layout; `layerWith(options)` the
 * same with Lock and Derivations taken from its environment (the in-memory
 * test Lock, or a test Derivations layer, can stand in).
 * It takes the big lock shared for its whole life (exclusive only
 * while upgrading an old schema, as Nix does), opens, creates or upgrades the
 * database, and closes everything with its scope. `layerTest` is the same
 * over a fresh temporary directory, removed afterwards.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Context, Effect, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { makeStoreDb } from "./db/makeStoreDb.js"
import { isWritableDir } from "./db/open.js"
import type { UpgradeProgress } from "../../services/StoreDb.js"
import { PathNotValidError, ReadOnlyStoreError } from "../../services/errors/database.js"
import { dumpPath } from "../../io/dump.js"
import { makeStoreLayout, toRealPath, type StoreLayout } from "../../core/storeLayout.js"
import { Lock, type LockError } from "../../services/Lock.js"
import { LocalStore, type LocalStoreShape } from "../../services/LocalStore.js"
import { Store, type NarFromPathError, type StorePrimitives, type StoreShape } from "../../services/Store.js"
import { StoreDb } from "../../services/StoreDb.js"
import type { OpenError } from "./db/layer.js"
import * as GenericStore from "../generic/make.js"
import { addTextToStore, addToStore } from "./ops/addToStore.js"
import { addToStoreNar } from "./ops/addToStoreNar.js"
import { registerValidity } from "./ops/registerValidity.js"
import type { StoreParts } from "./ops/context.js"
import { deletePaths } from "./ops/deletePaths.js"
import { cleanDeadLeftovers } from "./ops/deadLeftovers.js"
import { removeTree } from "./ops/removeTree.js"
import { derivationOutputsFromBytes } from "./ops/drvOutputs.js"
import { isDerivationPath } from "../../core/storePath.js"
import { recordedOutputPaths } from "../../core/derivation/outputs.js"
import { Derivations } from "../../services/Derivations.js"
import * as DerivationsLive from "./derivations.js"
import { exportPaths, importPaths } from "./ops/exportImport.js"
import { optimisePath, optimiseStore } from "./ops/optimise.js"
import { verifyPath, verifyStore } from "./ops/verify.js"
import { repairPathFromNar } from "./ops/repairPath.js"
import { ensureStateLayout, type StateLayoutError } from "./ops/stateLayout.js"
import * as LockLive from "./lock/layer.js"

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
 * (exclusive during an upgrade). Requires the Lock service, and Derivations
 * (an upgrade records the outputs of valid `.drv` files).
 */
export const storeDbLayer = (
  options: StoreOptions
): Layer.Layer<StoreDb, OpenError | LockError | StateLayoutError, Lock | Derivations> =>
  Layer.scoped(
    StoreDb,
    Effect.gen(function*() {
      const { layout } = options
      // Read-only (asked for, or the store is not ours to write): nothing is created or locked.
      const readOnly = options.readOnly === true || existingStoreIsReadOnly(layout)
      const busyPolicy = { maxWait: `${options.busyMaxWaitSeconds ?? 300} seconds` as const }
      const lock = yield* Lock
      const derivations = yield* Derivations
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
          derivations.read(drvPath).pipe(
            Effect.map(recordedOutputPaths),
            Effect.option,
            Effect.map((o) => (o._tag === "Some" ? o.value : undefined))
          )
      })
    })
  )

/** The local store's two services: any store's operations, and the local-only ones. */
export interface LocalStoreServices {
  readonly store: StoreShape
  readonly local: LocalStoreShape
}

/**
 * Builds the Store and LocalStore services from StoreDb, Lock and Derivations.
 * `generic: true` leaves out the bulk SQL closure and topological sort, so
 * the generic versions derived from the queries run instead (the conformance
 * suite compares both).
 */
export const makeServices = (
  layout: StoreLayout,
  options: { readonly autoOptimise?: boolean | undefined; readonly generic?: boolean | undefined } = {}
): Effect.Effect<LocalStoreServices, never, StoreDb | Lock | Derivations> =>
  Effect.gen(function*() {
    const db = yield* StoreDb
    const lock = yield* Lock
    const derivations = yield* Derivations
    const parts: StoreParts = { layout, db, lock, derivations, autoOptimise: options.autoOptimise === true }
    // The first write operation first cleans up after dead processes (once per store instance).
    const cleanUpOnce = yield* Effect.cached(cleanDeadLeftovers(parts))
    // In a read-only store, writes fail before they touch any file (no temp copies, no lock files).
    const writable = <A, E, R>(operation: string, eff: Effect.Effect<A, E, R>) =>
      db.readOnly ? Effect.fail(new ReadOnlyStoreError({ operation })) : Effect.zipRight(cleanUpOnce, eff)
    const primitives: StorePrimitives = {
      storeDir: db.storeDir,
      readOnly: db.readOnly,
      isValidPath: db.isValidPath,
      queryValidPaths: db.queryValidPaths,
      queryAllValidPaths: db.queryAllValidPaths,
      queryPathInfo: db.queryPathInfo,
      queryPathInfos: db.queryPathInfos,
      queryReferences: db.queryReferences,
      queryReferrers: db.queryReferrers,
      queryDeriver: db.queryDeriver,
      queryValidDerivers: db.queryValidDerivers,
      queryDerivationOutputs: db.queryDerivationOutputs,
      queryDerivationOutputMap: db.queryDerivationOutputMap,
      queryPathFromHashPart: db.queryPathFromHashPart
    }
    const derived = GenericStore.makeDerived(
      primitives,
      options.generic === true ? {} : { computeClosure: db.computeClosure, topoSortPaths: db.topoSortPaths }
    )
    const store: StoreShape = {
      ...primitives,
      ...derived,
      addToStore: (src, options = {}) => writable("add to the store", addToStore(parts, src, options)),
      addTextToStore: (name, contents, references) =>
        writable(
          "add to the store",
          Effect.gen(function*() {
            if (!isDerivationPath(name)) return yield* addTextToStore(parts, name, contents, references)
            const bytes = typeof contents === "string" ? new TextEncoder().encode(contents) : contents
            const derivationOutputs = yield* derivationOutputsFromBytes(derivations, bytes, name)
            return yield* addTextToStore(parts, name, bytes, references, { derivationOutputs })
          })
        ),
      addToStoreNar: (info, nar) => writable("add to the store", addToStoreNar(parts, info, nar)),
      narFromPath: (p) =>
        Stream.unwrap(Effect.map(db.isValidPath(p), (valid): Stream.Stream<Uint8Array, NarFromPathError> =>
          valid ? dumpPath(toRealPath(layout, p)) : Stream.fail(new PathNotValidError({ path: p })))).pipe(
            Stream.withSpan("Store.narFromPath", { attributes: { path: p } })
          ),
      exportPaths: (paths) =>
        exportPaths(parts, paths),
      importPaths: (stream) => writable("import paths", importPaths(parts, stream)),
      addTempRoot: (p) => lock.addTempRoot(p),
      tempRootSession: lock.tempRootSession,
      verifyStore: (options) => verifyStore(parts, options),
      verifyPath: (p) => verifyPath(parts, p)
    }
    const local: LocalStoreShape = {
      layout,
      registerValidPaths: db.registerValidPaths,
      // Read-only: the registration fails as registerValidPaths does.
      registerValidity: (records, options) => registerValidity(parts, records, options),
      invalidatePaths: db.invalidatePaths,
      deletePaths: (paths) => writable("delete paths", deletePaths(parts, paths)),
      registerFailedPaths: db.registerFailedPaths,
      isFailedPath: db.isFailedPath,
      queryFailedPaths: db.queryFailedPaths,
      clearFailedPaths: db.clearFailedPaths,
      optimiseStore: () => writable("optimise the store", optimiseStore(parts)),
      optimisePath: (p) =>
        writable(
          "optimise the store",
          Effect.gen(function*() {
            yield* lock.addTempRoot(p)
            if (!(yield* db.isValidPath(p))) return yield* new PathNotValidError({ path: p })
            return yield* optimisePath(layout, toRealPath(layout, p))
          })
        ),
      repairPath: (p, nar) => writable("repair a path", repairPathFromNar(parts, p, nar))
    }
    return { store, local }
  })

/** Builds the Store service from StoreDb, Lock and Derivations. */
export const make = (
  layout: StoreLayout,
  options: { readonly autoOptimise?: boolean | undefined } = {}
): Effect.Effect<StoreShape, never, StoreDb | Lock | Derivations> =>
  Effect.map(makeServices(layout, options), (s) => s.store)

/**
 * The local store's Store, LocalStore and StoreDb services, taking the Lock
 * service (the flock layer, or the in-memory test Lock) and the Derivations
 * service from its environment.
 */
export const layerWith = (
  options: StoreOptions & { readonly generic?: boolean | undefined }
): Layer.Layer<Store | LocalStore | StoreDb, OpenError | LockError | StateLayoutError, Lock | Derivations> =>
  Layer.unwrapEffect(Effect.sync(() => {
    const readOnly = options.readOnly === true || existingStoreIsReadOnly(options.layout)
    const services = Layer.effectContext(Effect.map(
      makeServices(options.layout, { autoOptimise: options.autoOptimise, generic: options.generic }),
      ({ local, store }) => Context.make(Store, store).pipe(Context.add(LocalStore, local))
    ))
    return services.pipe(Layer.provideMerge(storeDbLayer({ ...options, readOnly })))
  }))

/**
 * A local store with its StoreDb, Lock (flock) and Derivations (reading the
 * store's `.drv` files) services, for `options.layout`.
 * Read-only (asked for, or an existing store this process may not write):
 * nothing in the store is created, written or locked for writing.
 */
export const layerLive = (
  options: StoreOptions & { readonly generic?: boolean | undefined }
): Layer.Layer<Store | LocalStore | StoreDb | Lock | Derivations, OpenError | LockError | StateLayoutError> =>
  Layer.unwrapEffect(Effect.sync(() => {
    const readOnly = options.readOnly === true || existingStoreIsReadOnly(options.layout)
    return layerWith(options).pipe(
      Layer.provideMerge(LockLive.layer(options.layout, { readOnly })),
      Layer.provideMerge(DerivationsLive.layer(options.layout).pipe(Layer.provide(NodeFileSystem.layer)))
    )
  }))

/** Alias of {@link layerLive}. */
export const layer = layerLive

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
