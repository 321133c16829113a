/**
 * A pull-based byte source with push-back, for reading NARs embedded in larger
 * streams (`nix-store --export`): read some framing, parse exactly one NAR,
 * get the bytes after it back, read more framing.
 *
 * @since 0.1.0
 */
import { Chunk, Data, Effect, Option, Stream } from "effect"
import type { Scope } from "effect"

/** A source of byte chunks that can take unconsumed bytes back. */
export interface ByteSource<E> {
  /** The next non-empty chunk, or None at the end of input. */
  readonly pull: Effect.Effect<Option.Option<Uint8Array>, E>
  /** Pushes bytes back; the next `pull` returns them first (last pushed, first returned). */
  readonly unread: (bytes: Uint8Array) => void
}

/** The input ended before the expected number of bytes. */
export class UnexpectedEndOfInput extends Data.TaggedError("UnexpectedEndOfInput")<{
  readonly expected: number
  readonly got: number
}> {
  override get message(): string {
    return `unexpected end of input: expected ${this.expected} bytes, got ${this.got}`
  }
}

/** A {@link ByteSource} over a byte stream; the stream is consumed within the scope. */
export const byteSourceFromStream = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>
): Effect.Effect<ByteSource<E>, never, Scope.Scope | R> =>
  Effect.map(Effect.zip(Stream.toPull(stream), Effect.context<R>()), ([pullR, context]) => {
    const pullChunk = Effect.provide(pullR, context)
    const pending: Array<Uint8Array> = []
    let ended = false
    const pull: Effect.Effect<Option.Option<Uint8Array>, E> = Effect.suspend(() => {
      for (;;) {
        const next = pending.pop()
        if (next === undefined) break
        if (next.length > 0) return Effect.succeed(Option.some(next))
      }
      if (ended) return Effect.succeed(Option.none())
      return pullChunk.pipe(
        Effect.map((chunk) => {
          const arr = Chunk.toReadonlyArray(chunk)
          for (let i = arr.length - 1; i >= 0; i--) pending.push(arr[i] as Uint8Array)
          return true
        }),
        Effect.catchAll((e) =>
          Option.match(e, {
            onNone: () => {
              ended = true
              return Effect.succeed(false)
            },
            onSome: (err) => Effect.fail(err)
          })
        ),
        Effect.zipRight(pull)
      )
    })
    return {
      pull,
      unread: (bytes) => {
        if (bytes.length > 0) pending.push(bytes)
      }
    }
  })

/** A {@link ByteSource} over chunks held in memory (for tests and small inputs). */
export const byteSourceFromChunks = (chunks: ReadonlyArray<Uint8Array>): ByteSource<never> => {
  const pending = [...chunks].reverse()
  return {
    pull: Effect.sync(() => {
      for (;;) {
        const next = pending.pop()
        if (next === undefined) return Option.none()
        if (next.length > 0) return Option.some(next)
      }
    }),
    unread: (bytes) => {
      if (bytes.length > 0) pending.push(bytes)
    }
  }
}

/** Reads exactly `n` bytes (for framing around NARs, e.g. u64 words and strings). */
export const readExactly = <E>(source: ByteSource<E>, n: number): Effect.Effect<Uint8Array, E | UnexpectedEndOfInput> =>
  Effect.gen(function*() {
    const out = new Uint8Array(n)
    let got = 0
    while (got < n) {
      const next = yield* source.pull
      if (Option.isNone(next)) return yield* new UnexpectedEndOfInput({ expected: n, got })
      const chunk = next.value
      const k = Math.min(n - got, chunk.length)
      out.set(chunk.subarray(0, k), got)
      got += k
      if (k < chunk.length) source.unread(chunk.subarray(k))
    }
    return out
  })
