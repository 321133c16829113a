/**
 * Binary cache URIs: `file:///dir?compression=zstd&secret-key=FILE&write-nar-listing=1&…`
 * (and the http(s):// and s3:// backends' URIs, which share the parameters).
 * The parameters Nix 2.8's BinaryCacheStoreConfig knows are read here;
 * a backend reads its own (`region=`, …) from {@link BinaryCacheUri.params}.
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, Option } from "effect"
import * as fs from "node:fs"
import { parseSecretKey } from "../../core/cache/signing.js"
import { type CompressionMethod, parseCompressionMethod } from "../../io/compression.js"
import type { BinaryCacheConfig } from "./store.js"

/** A binary cache URI or one of its parameters is wrong (the CLI reports it as a usage error). */
export class InvalidBinaryCacheUriError extends Data.TaggedError("InvalidBinaryCacheUriError")<{
  readonly uri: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid binary cache '${this.uri}': ${this.reason}`
  }
}

/** A parsed binary cache URI. */
export interface BinaryCacheUri {
  /** `file`, `http`, `https`, `s3`. */
  readonly scheme: string
  /** What follows `scheme://` up to `?` (a path for file://, host[/prefix] for http, the bucket for s3). */
  readonly authorityAndPath: string
  /** The URI without its parameters (how the cache is named in messages). */
  readonly base: string
  /** The parameters (percent-decoded; the first of a repeated key wins). */
  readonly params: ReadonlyMap<string, string>
}

/** The parameters every binary cache takes (Nix's BinaryCacheStoreConfig and StoreConfig). */
export const commonParams: ReadonlySet<string> = new Set([
  "compression",
  "compression-level",
  "parallel-compression",
  "write-nar-listing",
  "secret-key",
  "index-debug-info",
  "local-nar-cache",
  "priority",
  "want-mass-query",
  "trusted",
  "path-info-cache-size",
  "store",
  "system-features",
  "narinfo-compression",
  "ls-compression",
  "log-compression",
  "multipart-upload",
  "buffer-size",
  "region",
  "aws-region",
  "endpoint",
  "scheme",
  "profile"
])

/** Whether `uri` names a binary cache (`file://`, `http://`, `https://`, `s3://`). */
export const isBinaryCacheUri = (uri: string): boolean => /^(file|https?|s3):\/\//.test(uri)

/** Parses a binary cache URI (Nix's parseURL + decodeQuery). */
export const parseBinaryCacheUri = (uri: string): Either.Either<BinaryCacheUri, InvalidBinaryCacheUriError> => {
  const m = /^([a-z0-9]+):\/\/([^?]*)(?:\?(.*))?$/.exec(uri)
  if (m === null) return Either.left(new InvalidBinaryCacheUriError({ uri, reason: "not a URI" }))
  const params = new Map<string, string>()
  for (const pair of (m[3] ?? "").split("&")) {
    if (pair === "") continue
    const eq = pair.indexOf("=")
    if (eq < 0) continue
    let value: string
    try {
      value = decodeURIComponent(pair.slice(eq + 1))
    } catch {
      return Either.left(new InvalidBinaryCacheUriError({ uri, reason: `invalid URI parameter '${pair}'` }))
    }
    const key = pair.slice(0, eq)
    if (!params.has(key)) params.set(key, value)
  }
  for (const key of params.keys()) {
    if (!commonParams.has(key)) {
      return Either.left(new InvalidBinaryCacheUriError({ uri, reason: `unknown setting '${key}'` }))
    }
  }
  return Either.right({
    scheme: m[1]!,
    authorityAndPath: m[2]!,
    base: `${m[1]}://${m[2]}`,
    params
  })
}

const boolParam = (uri: string, params: ReadonlyMap<string, string>, key: string, dflt: boolean) => {
  const v = params.get(key)
  if (v === undefined) return Either.right(dflt)
  if (v === "true" || v === "1") return Either.right(true)
  if (v === "false" || v === "0") return Either.right(false)
  return Either.left(new InvalidBinaryCacheUriError({ uri, reason: `'${key}' must be a Boolean, not '${v}'` }))
}

/**
 * The writer's configuration from a URI's parameters: `compression`
 * (default xz), `compression-level`, `parallel-compression`,
 * `write-nar-listing`, `secret-key` (the file is read and must hold a
 * secret key), and `store` (the store directory, default `storeDir`).
 */
export const binaryCacheConfig = (
  u: BinaryCacheUri,
  storeDir: string
): Effect.Effect<BinaryCacheConfig, InvalidBinaryCacheUriError> =>
  Effect.gen(function*() {
    const uri = u.base
    const bad = (reason: string) => new InvalidBinaryCacheUriError({ uri, reason })
    const compression: CompressionMethod = yield* Effect.mapError(
      parseCompressionMethod(u.params.get("compression") ?? "xz"),
      (e) => bad(e.message)
    )
    const levelText = u.params.get("compression-level") ?? "-1"
    if (!/^-?[0-9]+$/.test(levelText)) return yield* bad(`'compression-level' must be an integer, not '${levelText}'`)
    const writeNarListing = yield* boolParam(uri, u.params, "write-nar-listing", false)
    const parallelCompression = yield* boolParam(uri, u.params, "parallel-compression", false)
    const keyFile = u.params.get("secret-key") ?? ""
    let secretKey = Option.none<ReturnType<typeof parseSecretKey> extends Either.Either<infer K, unknown> ? K : never>()
    if (keyFile !== "") {
      const text = yield* Effect.try({
        try: () => fs.readFileSync(keyFile, "utf8"),
        catch: (e) => bad(`reading the secret key '${keyFile}': ${e instanceof Error ? e.message : String(e)}`)
      })
      const k = parseSecretKey(text)
      if (Either.isLeft(k)) return yield* bad(`'${keyFile}': ${k.left.message}`)
      secretKey = Option.some(k.right)
    }
    return {
      storeDir: u.params.get("store") ?? storeDir,
      compression,
      compressionLevel: Number(levelText),
      parallelCompression,
      writeNarListing,
      secretKey
    }
  })
