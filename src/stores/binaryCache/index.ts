/**
 * Binary cache stores: the backend interface, the file:// backend, the
 * store over any backend, and opening one from its URI.
 *
 * @since 0.1.0
 */
export * from "./backend.js"
export * from "./config.js"
export * from "./file.js"
export * from "./open.js"
export * from "./store.js"
