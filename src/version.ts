/**
 * The tsnix version string.
 *
 * @since 0.1.0
 */

/** tsnix's version, kept equal to package.json's. */
export const version = "0.1.0"
