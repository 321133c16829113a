/**
 * `tsnix copy [--from URI] [--to URI] [--no-check-sigs] PATHS` (as `nix copy`
 * in Nix 2.8): copies the closures of PATHS from the source (`--from`, else
 * the `--store` store) to the destination (`--to`, else the `--store`
 * store), only what the destination lacks, references first, a few at a
 * time. Either side may be a local store or a binary cache (`file://…`).
 * Adding to a local store checks signatures against `trusted-public-keys`
 * (and the public halves of `secret-key-files`) when `require-sigs` is true,
 * unless `--no-check-sigs`; binary caches take what they are given, as in
 * Nix. Prints Nix's `copying N paths...` and `copying path '…' from|to '…'...`
 * lines on stderr, and a progress line on a terminal.
 *
 * @since 0.1.0
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import {
  makePublicKeys,
  parsePublicKey,
  parseSecretKey,
  type PublicKey,
  type PublicKeys,
  toPublicKey
} from "../../core/cache/signing.js"
import { isBinaryCacheUri } from "../../stores/fromUri.js"
import * as StoreFromUri from "../../stores/fromUri.js"
import { copyClosure } from "../../stores/generic/copy.js"
import { globalFlags, UsageError } from "../argv.js"
import { Cli } from "../context.js"
import type { Operation } from "../operation.js"
import type { Settings } from "../../config/schema.js"
import { makeTerminal } from "../../layers/Progress.js"

const allowed = ["from", "to", "no-check-sigs", "store"]

/** The keys whose signatures are trusted: `trusted-public-keys` and the public halves of readable `secret-key-files`. */
export const trustedKeys = (settings: Settings): Effect.Effect<PublicKeys, UsageError> =>
  Effect.gen(function*() {
    const keys: Array<PublicKey> = []
    for (const s of settings.trustedPublicKeys) {
      const k = parsePublicKey(s)
      if (Either.isLeft(k)) return yield* new UsageError({ message: `'trusted-public-keys': ${k.left.message}` })
      keys.push(k.right)
    }
    for (const file of settings.secretKeyFiles) {
      let text: string
      try {
        text = fs.readFileSync(file, "utf8")
      } catch {
        continue // unreadable key files are normal in a multi-user installation (Nix ignores them too)
      }
      const k = parseSecretKey(text)
      if (Either.isLeft(k)) return yield* new UsageError({ message: `'${file}': ${k.left.message}` })
      keys.push(toPublicKey(k.right))
    }
    return makePublicKeys(keys)
  })

/** tsnix copy. */
export const copyOperation: Operation = Effect.gen(function*() {
  const { parsed, settings } = yield* Cli
  for (const f of parsed.flags) {
    if (!allowed.includes(f) && !globalFlags.has(f)) {
      return yield* new UsageError({ message: `unrecognised flag '--${f}'` })
    }
  }
  for (const f of parsed.values.keys()) {
    if (!allowed.includes(f) && f !== "add-root") {
      return yield* new UsageError({ message: `unrecognised flag '--${f}'` })
    }
  }
  const from = parsed.values.get("from")
  const to = parsed.values.get("to")
  if (from === undefined && to === undefined) {
    return yield* new UsageError({ message: "you must pass '--from' and/or '--to'" })
  }
  const storeUri = parsed.values.get("store")
  const options = {
    readOnly: settings.readOnly,
    fsyncMetadata: settings.fsyncMetadata,
    busyMaxWaitSeconds: settings.dbBusyMaxWait,
    autoOptimise: settings.autoOptimiseStore
  }
  const paths = parsed.args
  if (paths.length === 0) return yield* new UsageError({ message: "no paths given" })
  const dstUri = to ?? storeUri
  const dstIsCache = dstUri !== undefined && isBinaryCacheUri(dstUri)
  const checkSigs = !dstIsCache && settings.requireSigs && !parsed.flags.has("no-check-sigs")
  const publicKeys = yield* trustedKeys(settings)
  yield* Effect.scoped(Effect.gen(function*() {
    const src = yield* StoreFromUri.openStore(from ?? storeUri, options)
    const dst = yield* StoreFromUri.openStore(dstUri, options)
    const where = from !== undefined ? `from '${from.split("?")[0]}'` : `to '${(to ?? "").split("?")[0]}'`
    const terminal = process.stderr.isTTY ? makeTerminal() : undefined
    yield* copyClosure(src, dst, paths, {
      checkSigs,
      publicKeys,
      onStart: (p, _i, total) =>
        Effect.zipRight(
          terminal === undefined ? Effect.void : terminal.clear,
          Effect.sync(() => {
            if (_i === 0) process.stderr.write(`copying ${total} paths...\n`)
            process.stderr.write(`copying path '${p}' ${where}...\n`)
          })
        ),
      onDone: (_p, done, total) =>
        terminal === undefined
          ? Effect.void
          : done === total
          ? terminal.clear
          : terminal.report({ activity: "copying paths", done, total, unit: "paths" })
    })
  }))
})
