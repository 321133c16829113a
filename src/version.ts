/**
 * The tsnix version string.
 *
 * This module imports nothing: `bin/tsnix` loads it on its own to answer `tsnix --version`
 * without loading the CLI bundle.
 *
 * @since 0.1.0
 */

/** tsnix's version, kept equal to package.json's. */
export const version = "0.1.0"

/** What `tsnix --version` prints (with a newline). */
export const versionLine = `tsnix (Nix-compatible store) ${version}`
