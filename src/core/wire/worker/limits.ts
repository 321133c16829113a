/**
 * Bounds the worker-protocol decoders put on lengths and counts, so a hostile
 * peer's length never makes a reader allocate or wait for an absurd amount.
 * (Nix itself only bounds integers by their C++ type.)
 *
 * @since 0.1.0
 */

/** Longest store path, file name, setting or other short string accepted. */
export const MAX_SHORT_STRING = 64 * 1024
/** Longest message string (an error, a log line, a derivation's environment value). */
export const MAX_MESSAGE = 16 * 1024 * 1024
/** Most elements of a list, set or map (4 Mi: more than any store has paths). */
export const MAX_COUNT = 4 * 1024 * 1024
/** Largest STDERR_WRITE / STDERR_READ payload accepted. */
export const MAX_DATA = 64 * 1024 * 1024
