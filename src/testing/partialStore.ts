/**
 * A Store test double built from a partial implementation (as Effect's
 * `FileSystem.layerNoop(partial)`): the methods a test provides are used as
 * they are; every other method dies with a message naming it, so a test
 * that reaches further than it meant to fails clearly. `computeClosure` and
 * `topoSortPaths`, when not given, are derived from the given queries by the
 * generic store. `tempRootSession`, when not given, is a no-op (a double
 * holds no roots, and a server opens a session for every connection).
 *
 * @since 0.1.0
 */
import { Effect, Layer, Stream } from "effect"
import { Store, type StoreShape } from "../services/Store.js"
import * as GenericStore from "../stores/generic/make.js"

const missing = (name: string) => `Store.${name} is not provided by this test layer (storeLayerFromPartial)`

const dies = (name: string) => () => Effect.die(new Error(missing(name)))
const diesStream = (name: string) => () => Stream.die(new Error(missing(name)))

/** A complete StoreShape from `partial` (see the module comment); storeDir defaults to /nix/store. */
export const makePartialStore = (partial: Partial<StoreShape>): StoreShape => {
  const primitives = {
    storeDir: partial.storeDir ?? "/nix/store",
    readOnly: partial.readOnly ?? false,
    isValidPath: partial.isValidPath ?? dies("isValidPath"),
    queryValidPaths: partial.queryValidPaths ?? dies("queryValidPaths"),
    queryAllValidPaths: partial.queryAllValidPaths ?? Effect.die(new Error(missing("queryAllValidPaths"))),
    queryPathInfo: partial.queryPathInfo ?? dies("queryPathInfo"),
    queryPathInfos: partial.queryPathInfos ?? dies("queryPathInfos"),
    queryReferences: partial.queryReferences ?? dies("queryReferences"),
    queryReferrers: partial.queryReferrers ?? dies("queryReferrers"),
    queryDeriver: partial.queryDeriver ?? dies("queryDeriver"),
    queryValidDerivers: partial.queryValidDerivers ?? dies("queryValidDerivers"),
    queryDerivationOutputs: partial.queryDerivationOutputs ?? dies("queryDerivationOutputs"),
    queryDerivationOutputMap: partial.queryDerivationOutputMap ?? dies("queryDerivationOutputMap"),
    queryPathFromHashPart: partial.queryPathFromHashPart ?? dies("queryPathFromHashPart")
  }
  const overrides: Parameters<typeof GenericStore.makeDerived>[1] = {
    ...(partial.computeClosure === undefined ? {} : { computeClosure: partial.computeClosure }),
    ...(partial.topoSortPaths === undefined ? {} : { topoSortPaths: partial.topoSortPaths })
  }
  return {
    ...primitives,
    ...GenericStore.makeDerived(primitives, overrides),
    addToStore: partial.addToStore ?? dies("addToStore"),
    addTextToStore: partial.addTextToStore ?? dies("addTextToStore"),
    addToStoreNar: partial.addToStoreNar ?? dies("addToStoreNar"),
    narFromPath: partial.narFromPath ?? diesStream("narFromPath"),
    exportPaths: partial.exportPaths ?? diesStream("exportPaths"),
    importPaths: partial.importPaths ?? dies("importPaths"),
    addTempRoot: partial.addTempRoot ?? dies("addTempRoot"),
    // A test double holds no roots: its session is a no-op unless given (a daemon opens one per connection).
    tempRootSession: partial.tempRootSession ?? Effect.void,
    verifyStore: partial.verifyStore ?? dies("verifyStore"),
    verifyPath: partial.verifyPath ?? dies("verifyPath")
  }
}

/** A layer providing {@link Store} from a partial implementation. */
export const storeLayerFromPartial = (partial: Partial<StoreShape>): Layer.Layer<Store> =>
  Layer.succeed(Store, makePartialStore(partial))
