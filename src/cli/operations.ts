/**
 * The table of CLI operations, by name (long flag or subcommand).
 *
 * @since 0.1.0
 */
import type { Operation } from "./operation.js"
import { demoOperation } from "./ops/demo.js"
import { derivationOperation, showDerivationOperation } from "./ops/derivation.js"
import { dumpOperation, restoreOperation } from "./ops/dumpRestore.js"
import { hashOperation } from "./ops/hash.js"
import { queryOperation } from "./ops/query.js"
import {
  addFixedOperation,
  addOperation,
  checkValidityOperation,
  clearFailedPathsOperation,
  deleteOperation,
  dumpDbOperation,
  exportOperation,
  importOperation,
  loadDbOperation,
  queryFailedPathsOperation,
  registerValidityOperation,
  verifyOperation,
  verifyPathOperation
} from "./ops/store.js"

/** Operation name → implementation. */
export const operations: Readonly<Record<string, Operation>> = {
  hash: hashOperation,
  dump: dumpOperation,
  restore: restoreOperation,
  add: addOperation,
  "add-fixed": addFixedOperation,
  query: queryOperation,
  export: exportOperation,
  import: importOperation,
  verify: verifyOperation,
  "verify-path": verifyPathOperation,
  "check-validity": checkValidityOperation,
  "dump-db": dumpDbOperation,
  "load-db": loadDbOperation,
  "register-validity": registerValidityOperation,
  "query-failed-paths": queryFailedPathsOperation,
  "clear-failed-paths": clearFailedPathsOperation,
  delete: deleteOperation,
  "show-derivation": showDerivationOperation,
  derivation: derivationOperation,
  demo: demoOperation
}
