/**
 * tsnix: the Nix store in TypeScript, on Effect.
 *
 * The library entry point. Services are Context.Tags with live and test
 * layers; the pure codecs (nix32, hashes, store paths, NAR, derivations,
 * topological sort) have no I/O and are exported as namespaces.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Store, StoreFromUri } from "tsnix"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* Store
 *   const path = yield* store.addTextToStore("hello", "Hello, world\n", [])
 *   return yield* store.computeClosure([path])
 * })
 * Effect.runPromise(program.pipe(Effect.provide(StoreFromUri.layer("local?root=/tmp/root"))))
 * ```
 *
 * @since 0.1.0
 */

// Contracts (tags and interfaces)
export { Store, withTempRootSession } from "./services/Store.js"
export type {
  StoreShape,
  StorePrimitives,
  StoreDerived,
  StoreError,
  AddToStoreOptions,
  VerifyReport,
  DeleteResult,
  QueryError,
  PathQueryError,
  ClosureError,
  TopoSortError,
  NarFromPathError,
  AddToStoreError,
  AddTextToStoreError,
  AddToStoreNarError,
  ExportPathsError,
  ImportPathsError,
  VerifyStoreError,
  VerifyPathError,
  AddTempRootError,
  DeletePathsError
} from "./services/Store.js"
export { LocalStore } from "./services/LocalStore.js"
export type {
  LocalStoreShape,
  OptimiseResult,
  RegisterValidPathsError,
  InvalidatePathsError,
  FailedPathsError,
  OptimiseStoreError,
  OptimisePathError
} from "./services/LocalStore.js"
export { GarbageCollector, GcStore } from "./services/GcStore.js"
export type {
  GarbageCollectorShape,
  GcStoreShape,
  GcResult,
  Liveness,
  RootLink,
  GcSettings,
  GcError,
  WhyAlive,
  ChainStep,
  FindRootsError,
  LivenessError,
  CollectGarbageError,
  GcDeletePathsError
} from "./services/GcStore.js"
export { StoreDb } from "./services/StoreDb.js"
export type { StoreDbShape, ValidPathInfo, PathRegistration, ClosureOptions, FailedPath } from "./services/StoreDb.js"
export { Lock } from "./services/Lock.js"
export type {
  LockShape,
  LockMode,
  LockWaitOptions,
  HeldLock,
  PathLocks,
  TempRoots,
  LockError
} from "./services/Lock.js"
export { Progress, reportProgress } from "./services/Progress.js"
export type { ProgressShape, ProgressReport } from "./services/Progress.js"
export { Derivations } from "./services/Derivations.js"
export type { DerivationsShape } from "./services/Derivations.js"
/** Every error class of the contracts. */
export * from "./services/errors/index.js"

// Stores and layers
/** Store URI → Layer: `layer(uri)`, `layerConfig()` (TSNIX_STORE, NIX_STORE_DIR, NIX_CONFIG), `resolve(uri)`. */
export * as StoreFromUri from "./stores/fromUri.js"
export { InvalidStoreUriError, parseStoreUri, selectStore } from "./stores/uri.js"
/** The local store (Store + LocalStore + StoreDb + Lock): `layerLive({ layout })` (alias `layer`), `layerWith` (Lock from the environment), `layerTest`. */
export * as LocalStoreLayer from "./stores/local/layer.js"
/** The older name of {@link LocalStoreLayer}. */
export * as StoreLayer from "./stores/local/layer.js"
/** The SQLite StoreDb service alone: `layer(options)`. */
export * as StoreDbLayer from "./stores/local/db/layer.js"
/** The generic store: closure and topological sort derived from a store's queries (`make`, `makeDerived`). */
export * as GenericStore from "./stores/generic/make.js"
/** flock(2) locks on Nix's lock files: `layer(layout)`. */
export * as LockLayer from "./stores/local/lock/layer.js"
/** The garbage collector of a local store: `layer(settings)` (needs LocalStore, StoreDb, Lock), `layerTest`. */
export * as GarbageCollectorLayer from "./stores/local/gc/layer.js"
/** Progress displays: `layerStderr` (a status line on a terminal), `layerSilent`. */
export * as ProgressLayer from "./layers/Progress.js"
/** Derivation parsing, printing, JSON and output paths: `layer(layout)`, `layerTest(files)`. */
export * as DerivationsLayer from "./stores/local/derivations.js"

// Schema and configuration
export {
  makeStoreLayout,
  localStoreLayout,
  toRealPath,
  defaultStoreDir,
  defaultStateDir,
  defaultLogDir
} from "./core/storeLayout.js"
export type { StoreLayout, StoreLayoutSettings } from "./core/storeLayout.js"
export { Settings } from "./config/schema.js"
export * as Derivation from "./core/derivation/schema.js"

// Pure core
/** Nix base32. */
export * as Nix32 from "./core/nix32.js"
/** Hashes: md5, sha1, sha256, sha512 in every encoding Nix prints. */
export * as Hash from "./core/hash.js"
/** Store paths: parsing, validation, makeStorePath and friends. */
export * as StorePath from "./core/storePath.js"
/** NAR framing and the strict incremental parser. */
export * as NarCore from "./core/nar/index.js"
/** NAR dump and restore of file trees, as byte streams. */
export * as Nar from "./io/index.js"
/** ATerm parser and printer, show-derivation JSON, hashDerivationModulo, output paths. */
export * as DerivationCore from "./core/derivation/index.js"
/** Nix's topological sort of store paths. */
export * as TopoSort from "./core/topoSort.js"
/** Wire primitives (u64, padded strings, framed streams) with incremental decoders. */
export * as Wire from "./core/wire/index.js"
/** The `nix-store --export` format codec. */
export * as ExportFormat from "./core/exportFormat.js"

export { version } from "./version.js"
