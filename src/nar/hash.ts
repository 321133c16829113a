/**
 * Computing a NAR's hash (sha256) and size while its bytes stream by, so a
 * caller can write a NAR somewhere and know its hash without reading twice.
 *
 * @since 0.1.0
 */
import { Effect, Sink, Stream } from "effect"
import { createHash } from "node:crypto"

/** The sha256 digest of a NAR and its length in bytes. */
export interface NarHashResult {
  readonly narHash: Uint8Array
  readonly narSize: number
}

/** An incremental sha256 + byte counter for NAR bytes. */
export interface NarHasher {
  /** Adds bytes. */
  readonly update: (chunk: Uint8Array) => void
  /** Digest and size of everything added so far (call once, at the end). */
  readonly result: () => NarHashResult
}

/** A fresh {@link NarHasher}. */
export const makeNarHasher = (): NarHasher => {
  const h = createHash("sha256")
  let size = 0
  return {
    update: (chunk) => {
      h.update(chunk)
      size += chunk.length
    },
    result: () => ({ narHash: new Uint8Array(h.digest()), narSize: size })
  }
}

/** Passes a byte stream through unchanged while feeding every chunk to `hasher`. */
export const tapNarHasher =
  (hasher: NarHasher) =>
  <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    Stream.mapChunks(stream, (chunk) => {
      for (const c of chunk) hasher.update(c)
      return chunk
    })

/** A sink that consumes NAR bytes and yields their sha256 and size. */
export const narHashSink: Sink.Sink<NarHashResult, Uint8Array> = Sink.suspend(() => {
  const hasher = makeNarHasher()
  return Sink.forEachChunk((chunk: Iterable<Uint8Array>) =>
    Effect.sync(() => {
      for (const c of chunk) hasher.update(c)
    })
  ).pipe(Sink.map(() => hasher.result()))
})
