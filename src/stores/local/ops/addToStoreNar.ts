/**
 * Adding a path from its info and its NAR (Nix's `addToStore(info, narSource)`,
 * what `nix copy`, the daemon and substitution use): the NAR is unpacked to a
 * temporary path while it is hashed; only when its hash (and size, when the
 * info gives one) match the info is it canonicalised, moved into place and
 * registered. Anything else leaves nothing behind.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option, type Stream } from "effect"
import * as fsp from "node:fs/promises"
import { render as renderContentAddress } from "../../../core/contentAddress.js"
import { hashEquals, printHashWithAlgo } from "../../../core/hash.js"
import { isDerivationPath, parseStorePath } from "../../../core/storePath.js"
import { restoreFromSource } from "../../../io/restore.js"
import { byteSourceFromStream } from "../../../io/source.js"
import { HashMismatchError, StoreIoError } from "../../../services/errors/store.js"
import type { ValidPathInfo } from "../../../services/StoreDb.js"
import { installPath } from "./addToStore.js"
import { canonicaliseChecked } from "./canonicalise.js"
import type { StoreParts } from "./context.js"
import { derivationOutputsFromBytes } from "./drvOutputs.js"
import { scopedTempPath } from "./tempPath.js"

/**
 * Adds `info.path` from `nar` (see the module comment); a valid path is left
 * alone. The path is registered with the info's deriver, references,
 * signatures, content address and `ultimate` flag, and its registration time
 * (now when 0, as Nix does).
 */
export const addToStoreNar = <E>(parts: StoreParts, info: ValidPathInfo, nar: Stream.Stream<Uint8Array, E>) =>
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
      const expected = printHashWithAlgo(info.narHash, "base16")
      const actual = printHashWithAlgo({ algo: "sha256", bytes: got.narHash }, "base16")
      if (
        !hashEquals(info.narHash, { algo: "sha256", bytes: got.narHash }) ||
        (info.narSize !== 0 && info.narSize !== got.narSize)
      ) {
        return yield* new HashMismatchError({
          path: info.path,
          expected: info.narSize !== 0 && info.narSize !== got.narSize
            ? `${expected} (${info.narSize} bytes)`
            : expected,
          actual: info.narSize !== 0 && info.narSize !== got.narSize ? `${actual} (${got.narSize} bytes)` : actual
        })
      }
      let derivationOutputs: Readonly<Record<string, string>> | undefined
      if (isDerivationPath(info.path)) {
        const bytes = yield* Effect.tryPromise({
          try: () => fsp.readFile(temp),
          catch: (cause) => new StoreIoError({ path: info.path, operation: "reading derivation", cause })
        })
        derivationOutputs = yield* derivationOutputsFromBytes(parts.derivations, bytes, info.path)
      }
      yield* canonicaliseChecked(temp, got)
      yield* installPath(parts, temp, {
        path: info.path,
        narHash: actual,
        narSize: got.narSize,
        references: info.references,
        deriver: Option.getOrUndefined(info.deriver),
        registrationTime: info.registrationTime === 0 ? undefined : info.registrationTime,
        ultimate: info.ultimate,
        sigs: info.sigs,
        ca: Option.getOrUndefined(Option.map(info.ca, renderContentAddress)),
        derivationOutputs
      })
    })
  ).pipe(Effect.withSpan("Store.addToStoreNar", { attributes: { path: info.path } }))
