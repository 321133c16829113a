/**
 * `nix-store -l/--read-log PATHS`: prints the build log of each derivation
 * or output path (through its deriver), decompressed, as Nix keeps it
 * (`<logDir>/drvs/xx/rest[.bz2]`). A path without a log fails with Nix's
 * `build log of '…' is not available`. Through a daemon store the log is read
 * from this side's log directory, as Nix 2.8 does.
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
import { readLog as readLogFile } from "../../builder/log.js"
import { LocalStore } from "../../services/LocalStore.js"
import { withLocalStoreOnly, withStore } from "../storeLayers.js"
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
  // Through a daemon, as Nix 2.8's UDSRemoteStore (a LocalFSStore): the deriver from the daemon,
  // the log read from this side's log directory (`root=`'s).
  const cli = yield* Cli
  if (cli.store?._tag === "daemon") {
    return yield* withStore(Effect.gen(function*() {
      const store = yield* Store
      const local = yield* LocalStore
      for (const p of paths) {
        const drv = yield* useDeriver(store, p)
        const log = yield* readLogFile(local.layout.logDir, drv)
        if (Option.isNone(log)) return yield* new LogNotAvailableError({ path: p })
        yield* writeStdout(log.value)
      }
    }))
  }
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
