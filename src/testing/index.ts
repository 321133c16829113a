/**
 * `tsnix/testing`: layers for testing programs written against tsnix's
 * services, without a store of your own.
 *
 * - `localStoreLayerTest` (older name `storeLayerTest`): a local store
 *   (Store + LocalStore + StoreDb + Lock + Derivations) in a fresh
 *   temporary directory, removed when the layer's scope closes;
 * - `lockLayerTest`: an in-process Lock with flock's semantics, and its
 *   simulated processes (`LockTest.makeWorld`, `LockTest.kill`);
 * - `derivationsLayerTest`: `.drv` files served from memory;
 * - `garbageCollectorLayerTest`: a collector over a fresh temporary store;
 * - `storeLayerFromPartial(partial)`: a Store built from the methods a test
 *   provides, every other method dying with a message that names it;
 * - in `tsnix/testing/conformance` (it needs `@effect/vitest`):
 *   `storeConformance(name, layer, options)`, the Store conformance suite
 *   for any layer providing Store.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Store } from "tsnix"
 * import { localStoreLayerTest } from "tsnix/testing"
 *
 * const program = Effect.flatMap(Store, (store) => store.addTextToStore("x", "y", []))
 * Effect.runPromise(Effect.provide(program, localStoreLayerTest))
 * ```
 *
 * @since 0.1.0
 */
import * as DerivationsLayer from "../stores/local/derivations.js"
import * as GarbageCollectorLayer from "../stores/local/gc/layer.js"
import * as LockTestLayer from "./LockTest.js"
import * as StoreLayer from "../stores/local/layer.js"

/** A local store in a fresh temporary directory (Store, LocalStore, StoreDb, Lock and Derivations). */
export const localStoreLayerTest = StoreLayer.layerTest

/**
 * The older name of {@link localStoreLayerTest}.
 * @deprecated use `localStoreLayerTest` (layers are named after their implementation).
 */
export const storeLayerTest = StoreLayer.layerTest

/** An in-process Lock service with flock's semantics (options: a shared world of simulated processes). */
export const lockLayerTest = LockTestLayer.layer

/** A Derivations service serving `.drv` bytes from memory, keyed by store path. */
export const derivationsLayerTest = DerivationsLayer.layerTest

/** The garbage collector over a fresh temporary store (runtime roots off unless asked for). */
export const garbageCollectorLayerTest = GarbageCollectorLayer.layerTest

/** The in-process Lock's simulated processes: `makeWorld`, `kill`, `make`, `layer`. */
export * as LockTest from "./LockTest.js"

export { makePartialStore, storeLayerFromPartial } from "./partialStore.js"
