/**
 * Pure derivation codecs: ATerm, JSON, modulo hashes, output paths, validation.
 *
 * @since 0.1.0
 */
export * from "./aterm.js"
export * from "./errors.js"
export * from "./json.js"
export * from "./outputs.js"
export * from "./validate.js"
