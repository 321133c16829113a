/**
 * Keys and signatures on the command line:
 *
 * - `tsnix --generate-binary-cache-key NAME SK PK` (nix-store's op): a new
 *   ed25519 key pair; the public key file is written first, then the secret
 *   key file with umask 077, neither with a final newline (as Nix).
 * - `tsnix store verify [-r] [--no-contents] [--no-trust] [-n N] [-s URI]… PATHS`
 *   (as `nix store verify`): recomputes NAR hashes and checks signatures
 *   against `trusted-public-keys` (a path built locally, `ultimate`, needs
 *   none unless `-n` is given; a content-addressed one needs none); prints
 *   Nix's `path '…' was modified!…` and `path '…' is untrusted`; exits with
 *   1 (corrupted) | 2 (untrusted) | 4 (failed). `--store` may be a cache.
 * - `tsnix store sign -k FILE [-r] PATHS` (as `nix store sign`) on a binary
 *   cache (`--store file://…`): adds the signature to each narinfo. Signing
 *   a local store's paths is not implemented yet (it needs a database write
 *   the LocalStore contract does not have).
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, Option } from "effect"
import * as fs from "node:fs"
import {
  checkSignatures,
  generateSecretKey,
  parseSecretKey,
  printPublicKey,
  printSecretKey,
  signPathInfo,
  toPublicKey
} from "../../core/cache/signing.js"
import { hashEquals, makeHasher, printHashWithAlgo } from "../../core/hash.js"
import { printNarInfo } from "../../core/cache/narInfo.js"
import { compareStrings } from "../../core/topoSort.js"
import { Stream } from "effect"
import * as StoreFromUri from "../../stores/fromUri.js"
import { globalFlags, UsageError } from "../argv.js"
import { Cli, ExitWith } from "../context.js"
import type { Operation } from "../operation.js"
import { trustedKeys } from "./copy.js"
import { mimeTypes } from "../../stores/fromUri.js"
import type { BinaryCacheStore } from "../../stores/fromUri.js"

/** Writing a key file failed. */
export class KeyFileError extends Data.TaggedError("KeyFileError")<{ readonly file: string; readonly cause: unknown }> {
  override get message(): string {
    return `writing file '${this.file}': ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** tsnix --generate-binary-cache-key NAME SK PK. */
export const generateKeyOperation: Operation = Effect.gen(function*() {
  const { parsed } = yield* Cli
  for (const f of parsed.flags) {
    if (!globalFlags.has(f)) return yield* new UsageError({ message: `unknown flag '--${f}'` })
  }
  if (parsed.args.length !== 3) return yield* new UsageError({ message: "three arguments expected" })
  const [name, skFile, pkFile] = parsed.args as [string, string, string]
  const key = generateSecretKey(name)
  yield* Effect.try({
    try: () => fs.writeFileSync(pkFile, printPublicKey(toPublicKey(key))),
    catch: (cause) => new KeyFileError({ file: pkFile, cause })
  })
  yield* Effect.try({
    try: () => {
      const old = process.umask(0o077)
      try {
        fs.writeFileSync(skFile, printSecretKey(key))
      } finally {
        process.umask(old)
      }
    },
    catch: (cause) => new KeyFileError({ file: skFile, cause })
  })
})

const isCache = (s: unknown): s is BinaryCacheStore =>
  typeof s === "object" && s !== null && "queryNarInfo" in s && "backend" in s

/** tsnix store verify | sign. */
export const storeOperation: Operation = Effect.gen(function*() {
  const { parsed, settings } = yield* Cli
  const sub = parsed.args[0]
  const paths = parsed.args.slice(1)
  if (sub !== "verify" && sub !== "sign") {
    return yield* new UsageError({ message: `'tsnix store' takes 'verify' or 'sign', not '${sub ?? ""}'` })
  }
  const allowed = sub === "verify"
    ? ["recursive", "no-contents", "no-trust", "sigs-needed", "substituter", "store"]
    : ["recursive", "key-file", "store"]
  for (const f of [...parsed.flags, ...parsed.values.keys()]) {
    if (!allowed.includes(f) && !globalFlags.has(f)) {
      return yield* new UsageError({ message: `unrecognised flag '--${f}'` })
    }
  }
  const flag = (f: string) => parsed.flags.has(f)
  yield* Effect.scoped(Effect.gen(function*() {
    const store = yield* StoreFromUri.openStore(parsed.values.get("store"), { readOnly: settings.readOnly })
    const targets = flag("recursive") ? yield* store.computeClosure(paths) : paths
    if (sub === "sign") {
      const file = parsed.values.get("key-file")
      if (file === undefined) return yield* new UsageError({ message: "'--key-file' is required" })
      const text = yield* Effect.try({
        try: () => fs.readFileSync(file, "utf8"),
        catch: () => new UsageError({ message: `opening file '${file}': No such file or directory` })
      })
      const key = yield* Either.match(parseSecretKey(text), {
        onLeft: (e) => Effect.fail(new UsageError({ message: e.message })),
        onRight: Effect.succeed
      })
      if (!isCache(store)) {
        return yield* new UsageError({
          message: "tsnix store sign works on binary caches (--store file://…) only, so far"
        })
      }
      let added = 0
      for (const p of targets) {
        const ni = yield* store.queryNarInfo(p)
        if (Option.isNone(ni)) return yield* new UsageError({ message: `path '${p}' is not valid` })
        const sig = Either.getOrThrow(signPathInfo(key, ni.value))
        if (ni.value.sigs.includes(sig)) continue
        const next = { ...ni.value, sigs: [...ni.value.sigs, sig].sort(compareStrings) }
        yield* store.backend.upsertFile(
          `${p.slice(p.lastIndexOf("/") + 1, p.lastIndexOf("/") + 33)}.narinfo`,
          Stream.make(Buffer.from(printNarInfo(next))),
          mimeTypes.narInfo
        )
        added++
      }
      process.stderr.write(`added ${added} signatures\n`)
      return
    }
    const keys = yield* trustedKeys(settings)
    const needed = Number(parsed.values.get("sigs-needed") ?? "0")
    const substituters: Array<typeof store> = []
    const subUri = parsed.values.get("substituter")
    if (subUri !== undefined) substituters.push(yield* StoreFromUri.openStore(subUri))
    let corrupted = 0
    let untrusted = 0
    let failed = 0
    for (const p of targets) {
      const got = yield* Effect.either(Effect.gen(function*() {
        const o = yield* store.queryPathInfo(p)
        if (Option.isNone(o)) return yield* new UsageError({ message: `path '${p}' is not valid` })
        const info = o.value
        if (!flag("no-contents")) {
          const h = makeHasher("sha256")
          yield* Stream.runForEach(store.narFromPath(p), (c) => Effect.sync(() => h.update(c)))
          const got = h.digest()
          if (!hashEquals(got, info.narHash)) {
            corrupted++
            process.stderr.write(
              `path '${p}' was modified! expected hash '${printHashWithAlgo(info.narHash, "nix32")}', got '${
                printHashWithAlgo(got, "nix32")
              }'\n`
            )
          }
        }
        if (!flag("no-trust")) {
          let good = info.ultimate && needed === 0
          if (!good) {
            let valid = Either.getOrElse(checkSignatures(store.storeDir, info, keys), () => 0)
            for (const s2 of substituters) {
              if (valid >= Math.max(needed, 1)) break
              const o2 = yield* s2.queryPathInfo(p)
              if (Option.isSome(o2)) valid += Either.getOrElse(checkSignatures(store.storeDir, o2.value, keys), () => 0)
            }
            good = valid >= Math.max(needed, 1)
          }
          if (!good) {
            untrusted++
            process.stderr.write(`path '${p}' is untrusted\n`)
          }
        }
      }))
      if (Either.isLeft(got)) {
        failed++
        process.stderr.write(`error: ${got.left.message}\n`)
      }
    }
    const status = (corrupted > 0 ? 1 : 0) | (untrusted > 0 ? 2 : 0) | (failed > 0 ? 4 : 0)
    if (status !== 0) return yield* new ExitWith({ status })
  }))
})
