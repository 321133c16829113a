/**
 * The outputs of a `.drv` to record in DerivationOutputs when it is
 * registered, as Nix 2.8's `registerValidPaths` does (outputs whose path is
 * known: input-addressed and fixed).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import { parseDerivation } from "../../../core/derivation/aterm.js"
import { StoreIoError } from "../../../services/errors/store.js"

/** True for store paths of derivations. */
export const isDerivationPath = (p: string): boolean => p.endsWith(".drv")

/** Output name → path of the derivation held in `bytes` (file named for errors). */
export const derivationOutputsFromBytes = (bytes: Uint8Array, file: string) =>
  Effect.map(parseDerivation(bytes, { file }), (drv) => {
    const out: Record<string, string> = {}
    for (const [name, o] of drv.outputs) if (o.path !== "") out[name] = o.path
    return out
  })

/** Output name → path of the derivation in the file `realPath`. */
export const derivationOutputsOfFile = (realPath: string) =>
  Effect.flatMap(
    Effect.tryPromise({
      try: () => fs.readFile(realPath),
      catch: (cause) => new StoreIoError({ path: realPath, operation: "reading derivation", cause })
    }),
    (bytes) => derivationOutputsFromBytes(bytes, realPath)
  )
