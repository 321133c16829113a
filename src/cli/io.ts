/**
 * Standard streams for the CLI, as Effects.
 *
 * Output goes through `writeStdout`, which respects back-pressure (large
 * outputs such as NARs and export streams never pile up in memory) and turns a
 * closed pipe (`tsnix --dump x | head`) into a quiet, typed {@link BrokenPipe}.
 *
 * @since 0.1.0
 */
import { Data, Effect, Stream } from "effect"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type { Writable } from "node:stream"

/** The reader of our output went away (EPIPE). Not an error worth printing. */
export class BrokenPipe extends Data.TaggedError("BrokenPipe")<{}> {}

/** Writing to an output stream failed for another reason. */
export class OutputError extends Data.TaggedError("OutputError")<{ readonly cause: unknown }> {
  override get message() {
    return `writing output: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

const isEpipe = (e: unknown): boolean =>
  typeof e === "object" && e !== null && "code" in e && (e as { code?: unknown }).code === "EPIPE"

/** Writes one chunk to `out`, waiting for 'drain' when its buffer is full. */
export const writeTo = (out: Writable, chunk: Uint8Array | string): Effect.Effect<void, BrokenPipe | OutputError> =>
  Effect.async<void, BrokenPipe | OutputError>((resume) => {
    let done = false
    const finish = (e?: unknown) => {
      if (done) return
      done = true
      out.off("error", onError)
      out.off("drain", onDrain)
      if (e === undefined) resume(Effect.void)
      else resume(Effect.fail(isEpipe(e) ? new BrokenPipe() : new OutputError({ cause: e })))
    }
    const onError = (e: unknown) => finish(e)
    const onDrain = () => finish()
    out.on("error", onError)
    try {
      if (out.write(chunk, (e) => (e ? finish(e) : undefined))) finish()
      else out.on("drain", onDrain)
    } catch (e) {
      finish(e)
    }
  })

/** Writes text or bytes to standard output. */
export const writeStdout = (chunk: Uint8Array | string) => writeTo(process.stdout, chunk)

/** Writes lines (each followed by a newline) to standard output, batched. */
export const printLines = (lines: Iterable<string>): Effect.Effect<void, BrokenPipe | OutputError> =>
  Effect.gen(function*() {
    let buf: Array<string> = []
    let size = 0
    for (const l of lines) {
      buf.push(l, "\n")
      size += l.length + 1
      if (size > 1 << 16) {
        yield* writeStdout(buf.join(""))
        buf = []
        size = 0
      }
    }
    if (buf.length > 0) yield* writeStdout(buf.join(""))
  })

/** Sends a byte stream to standard output with back-pressure. */
export const streamToStdout = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>
): Effect.Effect<void, E | BrokenPipe | OutputError, R> => Stream.runForEach(stream, (chunk) => writeStdout(chunk))

/** Reading standard input failed. */
export class InputError extends Data.TaggedError("InputError")<{ readonly cause: unknown }> {
  override get message() {
    return `reading standard input: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/**
 * Standard input as a byte stream (read lazily, in the chunks Node delivers).
 * Interruptible while waiting for data, so Ctrl-C ends a command that reads
 * from a pipe whose writer is still open.
 */
export const stdinStream: Stream.Stream<Uint8Array, InputError> = Stream.suspend(() =>
  NodeStream.fromReadable(() => process.stdin, (cause) => new InputError({ cause }))
)

/** All of standard input, as bytes. */
export const readStdinBytes: Effect.Effect<Uint8Array, InputError> = Effect.map(
  Stream.runCollect(stdinStream),
  (chunks) => Buffer.concat(Array.from(chunks))
)
