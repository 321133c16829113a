/**
 * Byte sections inside a connection: framed streams (chunks ended by an empty
 * frame) and raw NARs (whose end only the NAR parser knows), each read from a
 * {@link ByteSource} and stopping exactly at its end, giving the bytes after
 * it back to the source.
 *
 * @since 0.1.0
 */
import { Data, Effect, Option, Stream } from "effect"
import { NarParseError, NarParser } from "../core/nar/index.js"
import { FramedDecoder, isNeedInput, type WireError } from "../core/wire/index.js"
import type { ByteSource } from "../io/source.js"

/** A framed stream was malformed (or ended without its terminator). */
export class FramedStreamError extends Data.TaggedError("FramedStreamError")<{ readonly cause: WireError }> {
  override get message(): string {
    return `bad framed stream: ${this.cause.message}`
  }
}

/**
 * The payload of a framed stream read from `outer`, as a source that ends at
 * the terminator (then the bytes after it are back in `outer`).
 */
export const framedSource = <E>(
  outer: ByteSource<E>
): ByteSource<E | FramedStreamError> & { readonly done: () => boolean } => {
  const dec = new FramedDecoder()
  const pending: Array<Uint8Array> = []
  let finished = false
  const pull: Effect.Effect<Option.Option<Uint8Array>, E | FramedStreamError> = Effect.suspend(
    function loop(): Effect.Effect<
      Option.Option<Uint8Array>,
      E | FramedStreamError
    > {
      const back = pending.pop()
      if (back !== undefined) return Effect.succeed(Option.some(back))
      if (finished) return Effect.succeed(Option.none())
      const ev = dec.next()
      if (ev instanceof Error) return Effect.fail(new FramedStreamError({ cause: ev }))
      if (isNeedInput(ev)) {
        return Effect.flatMap(outer.pull, (chunk) => {
          if (Option.isNone(chunk)) dec.end()
          else dec.feed(chunk.value)
          return loop()
        })
      }
      if (ev._tag === "End") {
        finished = true
        outer.unread(dec.remainder())
        return Effect.succeed(Option.none())
      }
      return ev.chunk.length === 0 ? loop() : Effect.succeed(Option.some(ev.chunk))
    }
  )
  return {
    pull,
    unread: (bytes) => {
      if (bytes.length > 0) pending.push(bytes)
    },
    done: () => finished
  }
}

/** Reads a source to its end, discarding the bytes (a framed stream's rest after an error). */
export const drain = <E>(source: ByteSource<E>): Effect.Effect<void, E> =>
  Effect.flatMap(source.pull, (c) => (Option.isNone(c) ? Effect.void : drain(source)))

/** The input ended inside a NAR. */
export class NarTruncatedError extends Data.TaggedError("NarTruncatedError")<{}> {
  override get message(): string {
    return "unexpected end of input inside a NAR"
  }
}

/**
 * One raw NAR read from `source`, as a stream of its bytes that ends exactly
 * at the end of the archive (the bytes after it are back in `source`).
 * A malformed archive fails the stream with the parser's error.
 */
export const narStream = <E>(source: ByteSource<E>): Stream.Stream<Uint8Array, E | NarParseError | NarTruncatedError> =>
  Stream.suspend(() => {
    const parser = new NarParser()
    let finished = false
    const step: Effect.Effect<Option.Option<Uint8Array>, E | NarParseError | NarTruncatedError> = Effect.gen(
      function*() {
        if (finished) return Option.none()
        const chunk = yield* source.pull
        if (Option.isNone(chunk)) return yield* new NarTruncatedError()
        parser.feed(chunk.value)
        for (;;) {
          const ev = parser.next()
          if (ev instanceof NarParseError) return yield* ev
          if (ev._tag === "NeedInput") return Option.some(chunk.value)
          if (ev._tag === "End") {
            finished = true
            const rest = parser.remainder()
            source.unread(rest)
            return Option.some(chunk.value.subarray(0, chunk.value.length - rest.length))
          }
        }
      }
    )
    return Stream.repeatEffectOption(
      Effect.flatMap(
        Effect.mapError(step, Option.some),
        (o) => (Option.isNone(o) ? Effect.fail(Option.none()) : Effect.succeed(o.value))
      )
    ).pipe(Stream.filter((c) => c.length > 0))
  })

/** A source's bytes up to its end, as a stream (a framed payload handed to a store). */
export const sourceStream = <E>(source: ByteSource<E>): Stream.Stream<Uint8Array, E> =>
  Stream.repeatEffectOption(
    Effect.flatMap(
      Effect.mapError(source.pull, Option.some),
      (o) => (Option.isNone(o) ? Effect.fail(Option.none()) : Effect.succeed(o.value))
    )
  )
