/**
 * One daemon connection's byte channel over a Node readable/writable pair (a
 * Unix socket, or stdin/stdout for `--stdio`), with bounded buffering both
 * ways: reading pauses the readable once `HIGH_WATER` bytes wait unread, and
 * every write waits for `drain` when the writable's buffer is full, so a peer
 * that stops reading stalls only its own connection.
 *
 * Values are read with the wire decoders (`core/wire`) through one
 * {@link WireReader}; raw byte sections (NARs, framed streams) are pulled
 * through {@link Conn.source}, which first hands back what the reader has
 * buffered.
 *
 * @since 0.1.0
 */
import { Data, Deferred, Effect, Option } from "effect"
import type { Readable, Writable } from "node:stream"
import { type Decoder, isNeedInput, type NeedInput, type WireError, WireReader } from "../core/wire/index.js"
import { isWorkerValueError, type WorkerValueError } from "../core/wire/worker/index.js"
import type { ByteSource } from "../io/source.js"

/** Bytes buffered from the peer before reading pauses. */
export const HIGH_WATER = 1024 * 1024

/** The peer hung up, or the channel failed. */
export class ConnClosedError extends Data.TaggedError("ConnClosedError")<{ readonly reason: string }> {
  override get message(): string {
    return `connection closed: ${this.reason}`
  }
}

/** The peer sent bytes that do not decode (the connection cannot be resynchronised). */
export class ProtocolError
  extends Data.TaggedError("DaemonProtocolError")<{ readonly cause: WireError | WorkerValueError }>
{
  override get message(): string {
    return this.cause.message
  }
}

/** A connection's byte channel. */
export interface Conn {
  /** Reads one value (pulling input as needed). */
  readonly read: <A>(decoder: Decoder<A>) => Effect.Effect<A, ConnClosedError | ProtocolError>
  /**
   * Answers requests as their bytes arrive, inside the channel's data handler (no fiber wakes
   * up per request): `answer` decodes one request and returns the bytes to write back, or fails
   * with an error `isError` recognises to leave that request unread. Completes with why it
   * stopped: `"other"` (the next request is not one `answer` takes: read it as usual), `"end"`
   * (end of input) or `"full"` (the peer's buffer is full: wait for {@link Conn.drained}).
   */
  readonly answerWhile: <E>(
    answer: Decoder<Uint8Array>,
    isError: (e: unknown) => e is E
  ) => Effect.Effect<"other" | "end" | "full", ConnClosedError>
  /** Waits until the writable's buffer has room again. */
  readonly drained: Effect.Effect<void, ConnClosedError>
  /** Raw bytes, after whatever the value reader buffered. */
  readonly source: ByteSource<ConnClosedError>
  /** Writes bytes, waiting while the peer's buffer is full. */
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, ConnClosedError>
  /** Queues bytes without waiting (log lines from a synchronous logger); false once closed. */
  readonly writeNow: (bytes: Uint8Array) => boolean
  /** Completes when the peer hangs up (end of its input, or an error). */
  readonly hangup: Effect.Effect<string>
  /** True while the channel can still be written. */
  readonly isOpen: () => boolean
}

/**
 * A {@link ByteSource} plus a value reader over it: the pair every framed or nested section needs.
 * `takeReceived` (optional) hands over, in order, the chunks `base` holds without waiting, for
 * `tryRead`.
 */
export const makeSourceReader = <E>(base: ByteSource<E>, takeReceived: () => Array<Uint8Array> = () => []) => {
  const reader = new WireReader()
  const drainReader = () => {
    const rest = reader.takeRemainder()
    for (let i = rest.length - 1; i >= 0; i--) base.unread(rest[i] as Uint8Array)
  }
  const source: ByteSource<E> = {
    pull: Effect.suspend(() => {
      drainReader()
      return base.pull
    }),
    unread: (bytes) => {
      drainReader()
      base.unread(bytes)
    }
  }
  const read = <A>(decoder: Decoder<A>): Effect.Effect<A, E | ProtocolError> =>
    Effect.suspend(function loop(): Effect.Effect<A, E | ProtocolError> {
      const r = reader.read(decoder, isWorkerValueError)
      if (isNeedInput(r)) {
        return Effect.flatMap(base.pull, (chunk) => {
          if (Option.isNone(chunk)) reader.end()
          else reader.feed(chunk.value)
          return loop()
        })
      }
      if (r instanceof Error) return Effect.fail(new ProtocolError({ cause: r as WireError | WorkerValueError }))
      return Effect.succeed(r as A)
    })
  const tryRead = <A, E2>(decoder: Decoder<A>, isError: (e: unknown) => e is E2): A | NeedInput | WireError | E2 => {
    // As `read`, what was received is moved into the reader only when what it holds is not enough.
    const r = reader.read(decoder, isError)
    if (!isNeedInput(r)) return r
    const received = takeReceived()
    if (received.length === 0) return r
    for (const c of received) reader.feed(c)
    return reader.read(decoder, isError)
  }
  return { read, source, tryRead }
}

/** Makes the channel over `readable` and `writable`; they are destroyed when the scope closes. */
export const makeConn = (readable: Readable, writable: Writable) =>
  Effect.gen(function*() {
    const hung = yield* Deferred.make<string>()
    const queue: Array<Uint8Array> = []
    let queued = 0
    let ended = false
    let failure: string | undefined
    let wake: (() => void) | undefined
    // While `answerWhile` runs: called on each arrival (and on the end) instead of `wake`.
    let answering: (() => void) | undefined
    let open = true
    const notify = () => {
      const w = wake
      wake = undefined
      w?.()
    }
    const onData = (b: Buffer) => {
      queue.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))
      queued += b.byteLength
      if (queued >= HIGH_WATER) readable.pause()
      if (answering !== undefined) answering()
      else notify()
    }
    const hangUp = (reason: string) => {
      Deferred.unsafeDone(hung, Effect.succeed(reason))
      answering?.()
      notify()
    }
    const onEnd = () => {
      ended = true
      hangUp("end of input")
    }
    const onError = (e: Error) => {
      failure ??= e.message
      open = false
      hangUp(e.message)
    }
    const onClose = () => {
      open = false
      ended = true
      hangUp("closed")
    }
    readable.on("data", onData)
    readable.on("end", onEnd)
    readable.on("error", onError)
    readable.on("close", onClose)
    writable.on("error", onError)
    writable.on("close", onClose)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        open = false
        readable.off("data", onData)
        notify()
        // Flush what was written (an error message before the close), then destroy; a peer
        // that does not read gets a few seconds.
        const destroy = () => {
          readable.destroy()
          writable.destroy()
        }
        const timer = setTimeout(destroy, 5000)
        timer.unref()
        if (writable.writableEnded || writable.destroyed) destroy()
        else {
          writable.end(() => {
            clearTimeout(timer)
            destroy()
          })
        }
      })
    )

    const pending: Array<Uint8Array> = []
    const basePull: Effect.Effect<Option.Option<Uint8Array>, ConnClosedError> = Effect.suspend(
      function pull(): Effect.Effect<
        Option.Option<Uint8Array>,
        ConnClosedError
      > {
        const back = pending.pop()
        if (back !== undefined) return Effect.succeed(Option.some(back))
        const next = queue.shift()
        if (next !== undefined) {
          queued -= next.length
          if (queued < HIGH_WATER && readable.isPaused()) readable.resume()
          return Effect.succeed(Option.some(next))
        }
        if (failure !== undefined) return Effect.fail(new ConnClosedError({ reason: failure }))
        if (ended) return Effect.succeed(Option.none())
        return Effect.flatMap(
          Effect.async<void>((resume) => {
            wake = () => resume(Effect.void)
            return Effect.sync(() => {
              wake = undefined
            })
          }),
          pull
        )
      }
    )
    const base: ByteSource<ConnClosedError> = {
      pull: basePull,
      unread: (bytes) => {
        if (bytes.length > 0) pending.push(bytes)
      }
    }
    const takeReceived = (): Array<Uint8Array> => {
      const out: Array<Uint8Array> = []
      for (let back = pending.pop(); back !== undefined; back = pending.pop()) out.push(back)
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        queued -= next.length
        out.push(next)
      }
      if (queued < HIGH_WATER && readable.isPaused()) readable.resume()
      return out
    }
    const { read, source, tryRead } = makeSourceReader(base, takeReceived)
    const closed = () => new ConnClosedError({ reason: failure ?? "the peer hung up" })
    const write = (bytes: Uint8Array): Effect.Effect<void, ConnClosedError> =>
      bytes.length === 0 ? Effect.void : Effect.async<void, ConnClosedError>((resume) => {
        if (!open || writable.destroyed) return resume(Effect.fail(closed()))
        if (writable.write(bytes)) return resume(Effect.void)
        const done = () => {
          writable.off("drain", done)
          writable.off("close", done)
          resume(open ? Effect.void : Effect.fail(closed()))
        }
        writable.on("drain", done)
        writable.on("close", done)
        return Effect.sync(() => {
          writable.off("drain", done)
          writable.off("close", done)
        })
      })
    const answerWhile = <E>(answer: Decoder<Uint8Array>, isError: (e: unknown) => e is E) =>
      Effect.async<"other" | "end" | "full", ConnClosedError>((resume) => {
        const step = () => {
          for (;;) {
            if (!open || writable.destroyed) {
              answering = undefined
              return resume(Effect.fail(closed()))
            }
            if (writable.writableNeedDrain) {
              answering = undefined
              return resume(Effect.succeed("full"))
            }
            const r = tryRead(answer, isError)
            if (r instanceof Uint8Array) {
              writable.write(r)
              continue
            }
            if (isNeedInput(r)) {
              if (failure === undefined && !ended) return
              answering = undefined
              return resume(failure === undefined ? Effect.succeed("end") : Effect.fail(closed()))
            }
            answering = undefined
            return resume(Effect.succeed("other"))
          }
        }
        answering = step
        step()
        return Effect.sync(() => {
          answering = undefined
        })
      })
    const drained = Effect.async<void, ConnClosedError>((resume) => {
      if (!open || writable.destroyed) return resume(Effect.fail(closed()))
      if (!writable.writableNeedDrain) return resume(Effect.void)
      const done = () => {
        writable.off("drain", done)
        writable.off("close", done)
        resume(open ? Effect.void : Effect.fail(closed()))
      }
      writable.on("drain", done)
      writable.on("close", done)
      return Effect.sync(() => {
        writable.off("drain", done)
        writable.off("close", done)
      })
    })
    const writeNow = (bytes: Uint8Array): boolean => {
      if (!open || writable.destroyed) return false
      if (bytes.length > 0) writable.write(bytes)
      return true
    }
    const conn: Conn = {
      read,
      answerWhile,
      drained,
      source,
      write,
      writeNow,
      hangup: Deferred.await(hung),
      isOpen: () => open && !writable.destroyed
    }
    return conn
  })
