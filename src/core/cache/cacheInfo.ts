/**
 * `nix-cache-info`, the file at the root of a binary cache
 * (`BinaryCacheStore::init`): lines `Name: value`, split at the first `:`,
 * the value trimmed; `StoreDir`, `WantMassQuery` (`1` is true) and
 * `Priority` (an integer, lower is preferred) are known, anything else is
 * ignored. Nix writes only `StoreDir` when it creates a cache.
 *
 * Pure: no I/O.
 *
 * @since 0.1.0
 */
import { Data, Either, Option } from "effect"

/** What a cache says about itself. */
export interface CacheInfo {
  readonly storeDir: Option.Option<string>
  readonly wantMassQuery: Option.Option<boolean>
  readonly priority: Option.Option<number>
}

/** A `Priority` that is not an integer (Nix's std::stoi throws). */
export class CacheInfoParseError extends Data.TaggedError("CacheInfoParseError")<{
  readonly uri: string
  readonly reason: string
}> {
  override get message(): string {
    return `'${this.uri}' has an invalid nix-cache-info: ${this.reason}`
  }
}

/** The file name. */
export const cacheInfoFile = "nix-cache-info"

/** The MIME type Nix uploads it with. */
export const cacheInfoMimeType = "text/x-nix-cache-info"

/** Parses `nix-cache-info` as Nix does; `uri` names the cache in errors. */
export const parseCacheInfo = (text: string, uri: string): Either.Either<CacheInfo, CacheInfoParseError> => {
  let storeDir = Option.none<string>()
  let wantMassQuery = Option.none<boolean>()
  let priority = Option.none<number>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    const colon = line.indexOf(":")
    if (colon < 0) continue
    const name = line.slice(0, colon)
    const value = line.slice(colon + 1).trim()
    if (name === "StoreDir") storeDir = Option.some(value)
    else if (name === "WantMassQuery") wantMassQuery = Option.some(value === "1")
    else if (name === "Priority") {
      // std::stoi: optional sign and leading digits; trailing junk ignored.
      const m = /^[+-]?[0-9]+/.exec(value)
      const n = m === null ? NaN : Number(m[0])
      if (!Number.isSafeInteger(n) || Math.abs(n) > 2 ** 31 - 1) {
        return Either.left(new CacheInfoParseError({ uri, reason: `Priority '${value}' is not an integer` }))
      }
      priority = Option.some(n)
    }
  }
  return Either.right({ storeDir, wantMassQuery, priority })
}

/** Prints `nix-cache-info`: `StoreDir` then, when set, `WantMassQuery` and `Priority` (cache.nixos.org's order). */
export const printCacheInfo = (info: CacheInfo): string => {
  let out = ""
  if (Option.isSome(info.storeDir)) out += `StoreDir: ${info.storeDir.value}\n`
  if (Option.isSome(info.wantMassQuery)) out += `WantMassQuery: ${info.wantMassQuery.value ? 1 : 0}\n`
  if (Option.isSome(info.priority)) out += `Priority: ${info.priority.value}\n`
  return out
}
