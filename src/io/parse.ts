/**
 * Driving the strict NAR parser over effectful byte sources: parse exactly one
 * archive (leaving what follows it in the source), or a whole stream that must
 * contain nothing but the archive. The NAR's sha256 and size are computed in
 * the same pass. The handlers' work (a restore's system calls) is synchronous;
 * between two events the event loop gets a turn once the time slice is used
 * up (eventLoop.ts).
 *
 * @since 0.1.0
 */
import { Effect, Option, Stream } from "effect"
import { NarParseError } from "../core/nar/errors.js"
import { type NarEvent, NarParser } from "../core/nar/parser.js"
import { sliceUsedUp, yieldToEventLoop } from "./eventLoop.js"
import { makeNarHasher, type NarHashResult } from "./hash.js"
import { type ByteSource, byteSourceFromStream } from "./source.js"

/** An archive event handed to a handler (never `NeedInput` or `End`). */
export type NarEntryEvent = Exclude<NarEvent, { readonly _tag: "NeedInput" } | { readonly _tag: "End" }>

/**
 * Handles one archive event; `Contents` chunks are only valid until the
 * returned effect completes. A handler that did its work synchronously and
 * successfully may return `undefined`: no effect is run for that event (with
 * 200k-entry archives, running one effect per event was most of the CPU).
 */
export type NarEventHandler<E, R> = (event: NarEntryEvent) => Effect.Effect<void, E, R> | undefined

/** Events between two looks at the clock (each event's own work is a few system calls at most). */
const CLOCK_EVERY = 32

const trailing = (offset: number) =>
  new NarParseError({ kind: "TrailingData", offset, reason: "trailing data after the archive" })

/** Options of {@link parseNarFrom} and {@link parseNarStream}. */
export interface ParseOptions {
  /** Compute the sha256 (default true); with false, `narHash` is empty and only `narSize` is set. */
  readonly hash?: boolean
}

/**
 * Parses exactly one NAR from `source`, calling `handle` for each event in
 * order, and pushes the bytes that follow the archive back into `source`.
 * Returns the archive's sha256 and size.
 */
export const parseNarFrom = <E, E2, R2>(
  source: ByteSource<E>,
  handle: NarEventHandler<E2, R2>,
  options: ParseOptions = {}
): Effect.Effect<NarHashResult, NarParseError | E | E2, R2> =>
  Effect.suspend(() => {
    const hasher = options.hash === false ? undefined : makeNarHasher()
    const parser = new NarParser(hasher === undefined ? {} : { onConsumed: hasher.update })
    // The clock is read once every CLOCK_EVERY events, contents weighed by size (reading it for each
    // of a wide NAR's 600k events cost more than the parser's own work on most of them).
    let untilClock = 0
    return Effect.gen(function*() {
      for (;;) {
        if (--untilClock <= 0) {
          untilClock = CLOCK_EVERY
          if (sliceUsedUp()) yield* yieldToEventLoop
        }
        const ev = parser.next()
        switch (ev._tag) {
          case "NarParseError":
            return yield* ev
          case "NeedInput": {
            const next = yield* source.pull
            if (Option.isNone(next)) parser.end()
            else parser.feed(next.value)
            break
          }
          case "End": {
            source.unread(parser.remainder())
            return hasher === undefined
              ? { narHash: new Uint8Array(0), narSize: parser.bytesConsumed }
              : hasher.result()
          }
          default: {
            // File contents count by size (one more event per 4 KiB): the clock is read at least
            // every ~128 KiB of synchronous writes.
            if (ev._tag === "Contents") untilClock -= ev.chunk.length >> 12
            const work = handle(ev)
            if (work !== undefined) yield* work
          }
        }
      }
    })
  })

/**
 * Parses a stream that holds exactly one NAR: bytes after the archive are a
 * `TrailingData` error. Returns the archive's sha256 and size.
 */
export const parseNarStream = <E, R, E2, R2>(
  nar: Stream.Stream<Uint8Array, E, R>,
  handle: NarEventHandler<E2, R2>,
  options: ParseOptions = {}
): Effect.Effect<NarHashResult, NarParseError | E | E2, R | R2> =>
  Effect.scoped(
    Effect.gen(function*() {
      const source = yield* byteSourceFromStream(nar)
      const result = yield* parseNarFrom(source, handle, options)
      const rest = yield* source.pull
      if (Option.isSome(rest)) return yield* trailing(result.narSize)
      return result
    })
  )

/** Checks that a stream is exactly one valid NAR and returns its sha256 and size. */
export const validateNarStream = <E, R>(
  nar: Stream.Stream<Uint8Array, E, R>
): Effect.Effect<NarHashResult, NarParseError | E, R> =>
  parseNarStream(nar, () => Effect.void).pipe(Effect.withSpan("nar.validateNarStream"))
