/**
 * Adding a path from its info and its NAR (Nix's `addToStore(info, narSource)`,
 * what `nix copy`, the daemon and substitution use): the NAR is unpacked to a
 * temporary path while it is hashed; only when its hash (and size, when the
 * info gives one) match the info is it canonicalised, moved into place and
 * registered. Anything else leaves nothing behind.
 *
 * @since 0.1.0
 */
import { Effect, Either, type Stream } from "effect"
import * as fsp from "node:fs/promises"
import { parseHash, printHashWithAlgo } from "../../../core/hash.js"
import { parseStorePath } from "../../../core/storePath.js"
import { restoreFromSource } from "../../../io/restore.js"
import { byteSourceFromStream } from "../../../io/source.js"
import { HashMismatchError, StoreIoError } from "../../../services/errors/store.js"
import type { PathRegistration } from "../../../services/StoreDb.js"
import { installPath } from "./addToStore.js"
import { canonicalisePath } from "./canonicalise.js"
import type { StoreParts } from "./context.js"
import { derivationOutputsFromBytes, isDerivationPath } from "./drvOutputs.js"
import { scopedTempPath } from "./tempPath.js"

/** The `sha256:<base16>` form of a hash given in any of Nix's encodings (unchanged when it does not parse). */
const base16Form = (h: string): string =>
  Either.match(parseHash(h), { onLeft: () => h, onRight: (hash) => printHashWithAlgo(hash, "base16") })

/** Adds `info.path` from `nar` (see the module comment); a valid path is left alone. */
export const addToStoreNar = <E>(parts: StoreParts, info: PathRegistration, nar: Stream.Stream<Uint8Array, E>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const { db, layout, lock } = parts
      yield* Either.match(parseStorePath(layout.storeDir, info.path), {
        onLeft: Effect.fail,
        onRight: () => Effect.void
      })
      yield* lock.addTempRoot(info.path)
      if (yield* db.isValidPath(info.path)) return
      const temp = yield* scopedTempPath(layout, parts.lock)
      const source = yield* byteSourceFromStream(nar)
      const got = yield* restoreFromSource(temp, source)
      const expected = base16Form(info.narHash)
      const actual = printHashWithAlgo({ algo: "sha256", bytes: got.narHash }, "base16")
      if (actual !== expected || (info.narSize !== 0 && info.narSize !== got.narSize)) {
        return yield* new HashMismatchError({
          path: info.path,
          expected: info.narSize !== 0 && info.narSize !== got.narSize
            ? `${expected} (${info.narSize} bytes)`
            : expected,
          actual: info.narSize !== 0 && info.narSize !== got.narSize ? `${actual} (${got.narSize} bytes)` : actual
        })
      }
      let derivationOutputs = info.derivationOutputs
      if (derivationOutputs === undefined && isDerivationPath(info.path)) {
        const bytes = yield* Effect.tryPromise({
          try: () => fsp.readFile(temp),
          catch: (cause) => new StoreIoError({ path: info.path, operation: "reading derivation", cause })
        })
        derivationOutputs = yield* derivationOutputsFromBytes(bytes, info.path)
      }
      yield* canonicalisePath(temp)
      yield* installPath(parts, temp, { ...info, narHash: actual, narSize: got.narSize, derivationOutputs })
    })
  ).pipe(Effect.withSpan("Store.addToStoreNar", { attributes: { path: info.path } }))
