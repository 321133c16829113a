/**
 * The pure NAR (Nix ARchive) codec: framing, encoder and strict incremental parser.
 *
 * @since 0.1.0
 */
export * from "./constants.js"
export * from "./decode.js"
export * from "./encode.js"
export * from "./errors.js"
export * from "./parser.js"
