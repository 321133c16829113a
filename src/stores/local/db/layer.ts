/**
 * The SQLite implementation of the {@link StoreDb} service: `layer(options)`
 * opens (creating or upgrading if needed) the database of `options.layout`,
 * closed with the layer's scope.
 *
 * @since 0.1.0
 */
import { Layer } from "effect"
import { StoreDb } from "../../../services/StoreDb.js"
import { makeStoreDb, type StoreDbOptions } from "./makeStoreDb.js"
import type { OpenDbError } from "./open.js"

/** Errors of opening (and possibly creating or upgrading) the database. */
export type OpenError = OpenDbError

/** The StoreDb service over the SQLite database of `options.layout`. */
export const layer = (options: StoreDbOptions): Layer.Layer<StoreDb, OpenError> =>
  Layer.scoped(StoreDb, makeStoreDb(options))
