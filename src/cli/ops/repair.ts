/**
 * `--repair-path PATHS` and the repair of `--verify --check-contents
 * --repair`, as Nix 2.8: each path is fetched again from the settings'
 * substituters (`copying path '…' from '…'...`) and its files replaced once
 * the NAR hashes to the registered hash. A path no substituter gives back is
 * `cannot repair path '…'`: an error for `--repair-path` (exit 1), an
 * error line and a remaining problem for `--verify` (which then ends with
 * "not all store errors were fixed", exit 1). Local stores only.
 *
 * @since 0.1.0
 */
import { Effect, Either } from "effect"
import type { Settings } from "../../config/schema.js"
import { nixPrintError } from "../../core/nixLog.js"
import { LocalStore, type LocalStoreShape } from "../../services/LocalStore.js"
import { Store, type StoreShape } from "../../services/Store.js"
import { repairFromSubstituters, type SubstituteOptions } from "../../stores/substitute.js"
import { Cli } from "../context.js"
import type { Operation } from "../operation.js"
import { withLocalStoreOnly } from "../storeLayers.js"
import { followLinksToStorePaths } from "../storePathArg.js"
import { globalFlags, UsageError } from "../argv.js"
import { trustedKeys } from "./copy.js"

const noFlags = Effect.flatMap(Cli, ({ parsed }) => {
  const f = [...parsed.flags].find((f) => !globalFlags.has(f))
  return f === undefined ? Effect.void : Effect.fail(new UsageError({ message: `unknown flag '--${f}'` }))
})

/** The substitution settings of a repair, with Nix's `copying path` lines. */
const repairOptions = (settings: Settings) =>
  Effect.map(trustedKeys(settings), (publicKeys): SubstituteOptions => ({
    substituters: settings.substituters,
    substitute: settings.substitute,
    requireSigs: settings.requireSigs,
    publicKeys,
    onCopy: (p, from) => Effect.logInfo(`copying path '${p}' from '${from}'...`)
  }))

/**
 * The `repair` of verifyStore for `--verify --repair`: true when the path was
 * repaired; a failure is printed as Nix prints it (`error: …`) and leaves
 * the path an error.
 */
export const verifyRepair = (store: StoreShape, local: LocalStoreShape, settings: Settings) =>
  Effect.map(
    repairOptions(settings),
    (options) => (p: string) =>
      Effect.flatMap(Effect.either(repairFromSubstituters(store, local, p, options)), (r) =>
        Either.isRight(r) ? Effect.succeed(true) : Effect.as(nixPrintError(`error: ${r.left.message}`), false))
  )

/** `--repair-path PATHS`: repairs each path in turn; the first that cannot be repaired is the error. */
export const repairPathOperation: Operation = Effect.gen(function*() {
  yield* noFlags
  const { layout, parsed, settings } = yield* Cli
  const paths = yield* followLinksToStorePaths(layout, parsed.args)
  const options = yield* repairOptions(settings)
  yield* withLocalStoreOnly("--repair-path")(Effect.gen(function*() {
    const store = yield* Store
    const local = yield* LocalStore
    for (const p of paths) yield* repairFromSubstituters(store, local, p, options)
  }))
})
