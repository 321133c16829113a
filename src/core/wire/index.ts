/**
 * Nix's wire primitives (pure: no I/O), as the worker protocol, `nix-store
 * --export` and NARs write them:
 *
 * - integers: u64 little-endian;
 * - strings and bytes: u64 length, the bytes, zero padding to a multiple of 8;
 * - lists: u64 count, then each element;
 * - framed streams (worker protocol >= 1.23): chunks of u64 length + bytes (no
 *   padding), ended by a chunk of length 0.
 *
 * Decoding is incremental: feed chunks to a {@link WireReader} and ask it for a
 * value with a {@link Decoder}; it answers with the value, {@link needInput}
 * (nothing consumed: feed more and ask again) or a typed {@link WireError}.
 * Decoders are plain functions and compose as such. Lengths are bounded by the
 * caller, so a hostile length never makes the reader allocate.
 *
 * @since 0.1.0
 */
export * from "./decode.js"
export * from "./encode.js"
export * from "./errors.js"
export * from "./framed.js"
