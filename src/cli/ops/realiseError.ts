/**
 * The failure of `-r` when something would have to be built or substituted
 * and cannot be (shared by the local and the daemon paths of `-r`).
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** Realising failed: something would have to be built or substituted (Nix's wording in `message`). */
export class RealiseError extends Data.TaggedError("RealiseError")<{ readonly message: string }> {}
