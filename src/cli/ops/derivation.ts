/**
 * `tsnix show-derivation DRV...` (also `tsnix derivation show`) and
 * `tsnix derivation add < drv.json`.
 *
 * show-derivation prints the JSON `nix show-derivation` prints, byte for byte.
 * `derivation add` reads that JSON (the keyed object or one bare
 * derivation), validates it (input derivations must be valid and declared
 * output paths must equal the computed ones), writes the `.drv` into the store
 * as a text path whose references are its input sources and derivations,
 * records its outputs, and prints its path.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Layer } from "effect"
import * as DerivationsLive from "../../layers/Derivations.js"
import { Derivations } from "../../services/Derivations.js"
import { Store } from "../../services/Store.js"
import { BadInputError } from "../../store/errors.js"
import { UsageError } from "../argv.js"
import { Cli } from "../context.js"
import { printLines, readStdinBytes, writeStdout } from "../io.js"
import type { Operation } from "../operation.js"
import { withStore } from "../storeLayers.js"

const derivationsLayer = Effect.map(Cli, ({ layout }) =>
  DerivationsLive.layer(layout).pipe(Layer.provide(NodeFileSystem.layer)))

/** `show-derivation DRV...`. */
export const showDerivationOperation: Operation = Effect.gen(function*() {
  const { parsed } = yield* Cli
  const args = parsed.args[0] === "show" ? parsed.args.slice(1) : parsed.args
  if (args.length === 0) return yield* new UsageError({ message: "'show-derivation' needs at least one derivation" })
  const layer = yield* derivationsLayer
  const result = yield* Effect.provide(Effect.flatMap(Derivations, (d) => d.showDerivation(args)), layer)
  yield* writeStdout(result.bytes)
})

/** `derivation add`: JSON on stdin → `.drv` in the store. */
export const derivationAddOperation: Operation = Effect.gen(function*() {
  // Bytes, not text: env values may be non-UTF-8, and the JSON carries them raw.
  const bytes = yield* readStdinBytes
  const layer = yield* derivationsLayer
  yield* withStore(Effect.provide(Effect.gen(function*() {
    const derivations = yield* Derivations
    const store = yield* Store
    const drvs = yield* derivations.fromJson(bytes)
    const out: Array<string> = []
    for (const { drv } of drvs) {
      const inputs = [...drv.inputSrcs, ...drv.inputDrvs.keys()]
      const valid = new Set(yield* store.queryValidPaths(inputs))
      const missing = inputs.find((p) => !valid.has(p))
      if (missing !== undefined) {
        const kind = drv.inputDrvs.has(missing) ? "derivation" : "source"
        return yield* new BadInputError({ reason: `input ${kind} '${missing}' is not valid` })
      }
      yield* derivations.validate(drv)
      const info = yield* derivations.storePath(drv)
      const name = info.path.slice(store.layout.storeDir.length + 34)
      const added = yield* store.addTextToStore(name, info.bytes, info.references)
      out.push(added)
    }
    yield* printLines(out)
  }), layer))
})

/** `derivation show|add ...`. */
export const derivationOperation: Operation = Effect.gen(function*() {
  const { parsed } = yield* Cli
  const sub = parsed.args[0]
  if (sub === "show") return yield* showDerivationOperation
  if (sub === "add") return yield* derivationAddOperation
  return yield* new UsageError({ message: "expected 'tsnix derivation show DRV...' or 'tsnix derivation add < FILE.json'" })
})
