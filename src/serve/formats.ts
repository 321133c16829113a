/**
 * The cache formats as the server writes them, on the fly: a path's narinfo
 * (signed with the server's key; for a NAR compressed while it is sent, no
 * FileHash and `FileSize: 0`, which Nix accepts: it checks the NAR hash), the
 * nix-cache-info text, and a path's `.ls` listing computed while its NAR
 * streams through the parser (never held whole).
 *
 * @since 0.1.0
 */
import { Effect, Either, Option, Stream } from "effect"
import { printCacheInfo } from "../core/cache/cacheInfo.js"
import { printNarInfo } from "../core/cache/narInfo.js"
import { NarListingBuilder, printNarListing } from "../core/cache/narListing.js"
import { type SecretKey, signPathInfo } from "../core/cache/signing.js"
import type { NarParseError } from "../core/nar/errors.js"
import { NarParser } from "../core/nar/parser.js"
import type { ValidPathInfo } from "../core/pathInfo.js"

/** The text of `nix-cache-info` for a store. */
export const cacheInfoText = (storeDir: string, priority: number): string =>
  printCacheInfo({ storeDir: Option.some(storeDir), wantMassQuery: Option.some(true), priority: Option.some(priority) })

/** A path's narinfo for its NAR at `url` compressed with `compression`, signed with `keys` (existing signatures kept). */
export const narInfoText = (
  info: ValidPathInfo,
  url: string,
  compression: string,
  keys: ReadonlyArray<SecretKey>
): string => {
  const sigs = new Set(info.sigs)
  for (const k of keys) {
    const sig = signPathInfo(k, info)
    if (Either.isRight(sig)) sigs.add(sig.right)
  }
  const plain = compression === "none"
  return printNarInfo({
    ...info,
    sigs: [...sigs],
    url,
    compression,
    fileHash: plain ? Option.some(info.narHash) : Option.none(),
    fileSize: plain ? info.narSize : 0,
    system: Option.none()
  })
}

/** The `.ls` listing of a NAR stream (its text), parsed chunk by chunk. */
export const listingText = <E, R>(nar: Stream.Stream<Uint8Array, E, R>): Effect.Effect<string, E | NarParseError, R> =>
  Effect.suspend(() => {
    const parser = new NarParser()
    const builder = new NarListingBuilder()
    /** Runs the parser until it needs input; fails on a parse error. */
    const drain = (): Effect.Effect<void, NarParseError> => {
      for (;;) {
        const ev = parser.next()
        if (ev instanceof Error) return Effect.fail(ev)
        if (ev._tag === "NeedInput" || ev._tag === "End") return Effect.void
        builder.onEvent(ev, parser.bytesConsumed)
      }
    }
    return drain().pipe(
      Effect.zipRight(Stream.runForEach(nar, (chunk) =>
        Effect.suspend(() => {
          parser.feed(chunk)
          return drain()
        }))),
      Effect.zipRight(Effect.suspend(() => {
        parser.end()
        return drain()
      })),
      Effect.flatMap(() => {
        const root = builder.result
        return root === undefined ? Effect.dieMessage("the NAR has no root") : Effect.succeed(printNarListing(root))
      })
    )
  })
