/**
 * A raw NAR read from a connection (NarFromPath's reply): its length is not
 * sent, so the strict parser finds its end; the bytes after it are pushed
 * back into the connection.
 *
 * @since 0.1.0
 */
import { Chunk, Effect, Option, Stream } from "effect"
import type { NarParseError } from "../../core/nar/errors.js"
import { NarParser } from "../../core/nar/parser.js"
import type { ByteSource } from "../../io/source.js"

/**
 * The NAR at the head of `source`, as a stream of its bytes; `onEnd` runs once
 * it is complete (and its remainder pushed back).
 */
export const narFromSource = <E>(
  source: ByteSource<E>,
  onEnd: Effect.Effect<void> = Effect.void
): Stream.Stream<Uint8Array, E | NarParseError> =>
  Stream.suspend(() => {
    const out: Array<Uint8Array> = []
    const parser = new NarParser({ onConsumed: (bytes) => out.push(bytes) })
    let done = false
    const pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E | NarParseError>> = Effect.suspend(
      function loop(): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E | NarParseError>> {
        if (done) return Effect.fail(Option.none())
        for (;;) {
          const ev = parser.next()
          if (ev._tag === "NarParseError") return Effect.fail(Option.some(ev))
          if (ev._tag === "End") {
            done = true
            source.unread(parser.remainder())
            const chunk = Chunk.unsafeFromArray(out.splice(0))
            return Effect.as(onEnd, chunk)
          }
          if (ev._tag === "NeedInput") {
            if (out.length > 0) return Effect.succeed(Chunk.unsafeFromArray(out.splice(0)))
            return Effect.flatMap(Effect.mapError(source.pull, Option.some), (next) => {
              if (Option.isNone(next)) parser.end()
              else parser.feed(next.value)
              return loop()
            })
          }
        }
      }
    )
    return Stream.repeatEffectChunkOption(pull)
  })
