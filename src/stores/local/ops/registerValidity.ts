/**
 * `--register-validity` / `--load-db`: registering paths whose files are
 * already in the store, canonicalising them first when asked and computing
 * the NAR hash and size of those given without one.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { printHashWithAlgo } from "../../../core/hash.js"
import { toRealPath } from "../../../core/storeLayout.js"
import { narHashPath } from "../../../io/dump.js"
import type { ValidityRegistration } from "../../../services/LocalStore.js"
import type { PathRegistration } from "../../../services/StoreDb.js"
import { canonicalisePath } from "./canonicalise.js"
import type { StoreParts } from "./context.js"

/** Registers `records` in one transaction (see the module comment). */
export const registerValidity = (
  parts: StoreParts,
  records: ReadonlyArray<ValidityRegistration>,
  options: { readonly canonicalise: boolean }
) =>
  Effect.gen(function*() {
    const out: Array<PathRegistration> = []
    for (const r of records) {
      const real = toRealPath(parts.layout, r.path)
      if (options.canonicalise) yield* canonicalisePath(real)
      let narHash = r.narHash
      let narSize = r.narSize
      if (narHash === undefined) {
        const h = yield* narHashPath(real)
        narHash = printHashWithAlgo({ algo: "sha256", bytes: h.narHash }, "base16")
        narSize = h.narSize
      }
      out.push({
        path: r.path,
        narHash,
        narSize: narSize ?? 0,
        deriver: r.deriver,
        references: r.references,
        derivationOutputs: r.derivationOutputs
      })
    }
    yield* parts.db.registerValidPaths(out)
  }).pipe(Effect.withSpan("LocalStore.registerValidity", { attributes: { count: records.length } }))
