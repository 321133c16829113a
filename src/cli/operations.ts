/**
 * The table of CLI operations, by name (long flag or subcommand).
 *
 * @since 0.1.0
 */
import type { Operation } from "./operation.js"
import { dumpOperation, restoreOperation } from "./ops/dumpRestore.js"
import { hashOperation } from "./ops/hash.js"

/** Operation name → implementation. */
export const operations: Readonly<Record<string, Operation>> = {
  hash: hashOperation,
  dump: dumpOperation,
  restore: restoreOperation
}
