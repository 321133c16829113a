/**
 * Constants of the NAR (Nix ARchive) serialisation.
 *
 * @since 0.1.0
 */

/** The magic string every NAR starts with (written as `str("nix-archive-1")`). */
export const NAR_MAGIC = "nix-archive-1"

/** Longest entry name a strict reader accepts (bytes), as Linux's NAME_MAX. */
export const NAR_MAX_NAME_LENGTH = 255

/** Longest symlink target a strict reader accepts (bytes), as Linux's PATH_MAX - 1. */
export const NAR_MAX_TARGET_LENGTH = 4095

/** Longest keyword ("tag") a strict reader accepts (bytes); the longest real tag is 13 bytes. */
export const NAR_MAX_TAG_LENGTH = 16

/** Largest file size a reader accepts: contents lengths above 2^53 - 1 are absurd. */
export const NAR_MAX_CONTENTS_SIZE = Number.MAX_SAFE_INTEGER
