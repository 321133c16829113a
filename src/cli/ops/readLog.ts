/**
 * `nix-store -l/--read-log PATHS`: prints the build log of each derivation
 * or output path (through its deriver), decompressed, as Nix keeps it
 * (`<logDir>/drvs/xx/rest[.bz2]`). A path without a log fails with Nix's
 * `build log of '…' is not available`.
 *
 * @since 0.1.0
 */
import { Data, Effect, Option } from "effect"
import * as BuilderLive from "../../builder/layer.js"
import { Builder } from "../../services/Builder.js"
import { Store } from "../../services/Store.js"
import { globalFlags, UsageError } from "../argv.js"
import { Cli } from "../context.js"
import { useDeriver, withDerivations } from "../derivationArg.js"
import { writeStdout } from "../io.js"
import type { Operation } from "../operation.js"
import { withLocalStoreOnly } from "../storeLayers.js"
import { followLinksToStorePath } from "../storePathArg.js"

/** No build log is known for the path. */
export class LogNotAvailableError extends Data.TaggedError("LogNotAvailableError")<{ readonly path: string }> {
  override get message(): string {
    return `build log of '${this.path}' is not available`
  }
}

/** The `-l` operation. */
export const readLogOperation: Operation = Effect.gen(function*() {
  const { parsed, layout } = yield* Cli
  for (const f of parsed.flags) {
    if (!globalFlags.has(f)) return yield* new UsageError({ message: `unknown flag '--${f}'` })
  }
  const paths: Array<string> = []
  for (const a of parsed.args) paths.push(yield* followLinksToStorePath(layout, a))
  yield* withLocalStoreOnly("--read-log")(withDerivations(
    Effect.gen(function*() {
      const store = yield* Store
      const builder = yield* Builder
      for (const p of paths) {
        const drv = yield* useDeriver(store, p)
        const log = yield* builder.readLog(drv)
        if (Option.isNone(log)) return yield* new LogNotAvailableError({ path: p })
        yield* writeStdout(log.value)
      }
    }).pipe(Effect.provide(BuilderLive.layer))
  ))
})
