/**
 * NAR (Nix ARchive) I/O: dumping file trees, restoring archives, hashing and
 * parsing NAR byte streams.
 *
 * @since 0.1.0
 */
export * from "./dump.js"
export * from "../core/nar/ioErrors.js"
export * from "./hash.js"
export * from "./parse.js"
export * from "./restore.js"
export * from "./source.js"
