/**
 * Streaming compression for binary caches, as Nix 2.8's `compression=`
 * (`libutil/compression.cc`): `xz` (the default, through node-liblzma,
 * liblzma's bindings), `zstd` (zstd-napi, libzstd's bindings), `bzip2`
 * (decompression streams through unbzip2-stream; compression through
 * compressjs, one independent bzip2 stream per 900 kB block, concatenated,
 * which every bzip2 reader accepts), `gzip` and `br` (node:zlib), and `none`.
 *
 * Decompression ignores the name, as Nix does (libarchive's detection),
 * except for `none`/`""` (no decoding) and `br` (brotli has no magic): the
 * first bytes say xz, zstd, bzip2 or gzip; anything else passes through.
 *
 * Every codec streams: memory stays bounded by the codec's window (bzip2
 * compression: one block), whatever the size of the NAR.
 *
 * @since 0.1.0
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Data, Effect, Option, Stream } from "effect"
import { createRequire } from "node:module"
import { Duplex, PassThrough, Transform, type TransformCallback } from "node:stream"
import * as zlib from "node:zlib"
import { yieldIfSliceUsedUp } from "./eventLoop.js"

/** The compressions tsnix writes. */
export type CompressionMethod = "xz" | "zstd" | "bzip2" | "gzip" | "br" | "none"

/** The names tsnix writes, in Nix's spelling. */
export const compressionMethods: ReadonlyArray<CompressionMethod> = ["xz", "zstd", "bzip2", "gzip", "br", "none"]

/** A `compression=` value tsnix cannot write (Nix's libarchive knows more filters). */
export class UnsupportedCompressionError extends Data.TaggedError("UnsupportedCompressionError")<{
  readonly method: string
}> {
  override get message(): string {
    return `unknown compression method '${this.method}' (tsnix writes ${compressionMethods.join(", ")})`
  }
}

/** Bytes a codec could not compress or decompress (corrupt or truncated input). */
export class CompressionError extends Data.TaggedError("CompressionError")<{
  readonly method: string
  readonly operation: "compress" | "decompress"
  readonly cause: unknown
}> {
  override get message(): string {
    const why = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `${this.operation === "compress" ? "compressing" : "decompressing"} with ${this.method}: ${why}`
  }
}

/** Checks a `compression=` value. */
export const parseCompressionMethod = (s: string): Effect.Effect<CompressionMethod, UnsupportedCompressionError> =>
  (compressionMethods as ReadonlyArray<string>).includes(s)
    ? Effect.succeed(s as CompressionMethod)
    : Effect.fail(new UnsupportedCompressionError({ method: s }))

/** Options of compression (Nix's `compression-level`, `parallel-compression`). */
export interface CompressOptions {
  /** -1 (the default): the codec's own default. */
  readonly level?: number | undefined
  /** xz and zstd: use several threads. */
  readonly parallel?: boolean | undefined
}

// The codecs are CommonJS packages with native parts: loaded on first use, so that
// importing this module (and the CLI) does not load them.
const require = createRequire(import.meta.url)
interface LzmaModule {
  createXz(options?: { preset?: number; threads?: number }): Duplex
  createUnxz(): Duplex
}
interface ZstdModule {
  readonly CompressStream: new(p?: { compressionLevel?: number; nbWorkers?: number }) => Duplex
  readonly DecompressStream: new() => Duplex
}
interface Bzip2Module {
  readonly Bzip2: { compressFile(input: Uint8Array, output: undefined, blockSize: number): Uint8Array }
}
// The modules' types are declared by hand above: zstd-napi's d.ts is right but node-liblzma's
// constants are typed `any`, and compressjs and unbzip2-stream ship none.
const lzma = (): LzmaModule => require("node-liblzma") as LzmaModule
const zstd = (): ZstdModule => require("zstd-napi") as ZstdModule
const bzip2 = (): Bzip2Module => require("compressjs") as Bzip2Module
/** unbzip2-stream returns a classic ("through") stream: what of it this module uses. */
interface ClassicStream {
  write(chunk: Buffer): unknown
  end(): unknown
  pause(): unknown
  resume(): unknown
  on(event: "data", f: (chunk: Buffer) => void): unknown
  on(event: "end", f: () => void): unknown
  on(event: "error", f: (e: unknown) => void): unknown
}
const unbzip2 = (): () => ClassicStream => require("unbzip2-stream") as () => ClassicStream

/** A Duplex over a classic stream, with backpressure on its output. */
class ClassicDuplex extends Duplex {
  constructor(private readonly inner: ClassicStream) {
    super()
    inner.on("data", (chunk) => {
      if (!this.push(chunk)) inner.pause()
    })
    inner.on("end", () => this.push(null))
    inner.on("error", (e) => this.destroy(e instanceof Error ? e : new Error(String(e))))
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    try {
      this.inner.write(chunk)
      done()
    } catch (e) {
      done(e instanceof Error ? e : new Error(String(e)))
    }
  }
  override _final(done: (e?: Error | null) => void): void {
    try {
      this.inner.end()
      done()
    } catch (e) {
      done(e instanceof Error ? e : new Error(String(e)))
    }
  }
  override _read(): void {
    this.inner.resume()
  }
}

const BZIP2_BLOCK = 900_000

/** bzip2 compression: every 900 kB block becomes an independent bzip2 stream (concatenated streams are one file). */
class Bzip2Compress extends Transform {
  private pending: Array<Buffer> = []
  private size = 0
  private emitted = false
  constructor(private readonly level: number) {
    super()
  }
  private compressBlock(block: Buffer): void {
    this.emitted = true
    this.push(Buffer.from(bzip2().Bzip2.compressFile(block, undefined, this.level)))
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.pending.push(chunk)
      this.size += chunk.length
      while (this.size >= BZIP2_BLOCK) {
        const all = Buffer.concat(this.pending)
        this.compressBlock(all.subarray(0, BZIP2_BLOCK))
        const rest = all.subarray(BZIP2_BLOCK)
        this.pending = rest.length > 0 ? [rest] : []
        this.size = rest.length
      }
      done()
    } catch (e) {
      done(e instanceof Error ? e : new Error(String(e)))
    }
  }
  override _flush(done: TransformCallback): void {
    try {
      if (this.size > 0 || !this.emitted) this.compressBlock(Buffer.concat(this.pending))
      done()
    } catch (e) {
      done(e instanceof Error ? e : new Error(String(e)))
    }
  }
}

const compressor = (method: CompressionMethod, options: CompressOptions): Duplex => {
  const level = options.level ?? -1
  switch (method) {
    case "xz":
      return lzma().createXz({
        ...(level >= 0 ? { preset: Math.min(level, 9) } : {}),
        ...(options.parallel === true ? { threads: 0 } : {})
      })
    case "zstd":
      return new (zstd().CompressStream)({
        ...(level >= 0 ? { compressionLevel: level } : {}),
        ...(options.parallel === true ? { nbWorkers: 2 } : {})
      })
    case "bzip2":
      return new Bzip2Compress(level >= 1 && level <= 9 ? level : 9)
    case "gzip":
      return zlib.createGzip(level >= 0 ? { level: Math.min(level, 9) } : {})
    case "br":
      return zlib.createBrotliCompress(
        level >= 0 ? { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: Math.min(level, 11) } } : {}
      )
    case "none":
      return new PassThrough()
  }
}

/** Largest piece of input handed to a codec at once (zstd-napi compresses 256 KiB in about a millisecond). */
const PIECE = 256 * 1024

/**
 * `self` through a Node Duplex, with backpressure both ways. Unlike
 * platform-node's pipeThroughDuplex, a failure of `self` fails the result
 * (it is not taken for the end of input, which would let a broken download
 * look like a complete one).
 */
export const pipeThroughTransform = <E, R, E2>(
  self: Stream.Stream<Uint8Array, E, R>,
  make: () => Duplex,
  onError: (cause: unknown) => E2
): Stream.Stream<Uint8Array, E | E2, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const duplex = make()
    // A failure of `self` destroys the duplex; its error comes out of the other side typed.
    let upstream = Option.none<E>()
    const writePiece = (chunk: Uint8Array) =>
      Effect.async<void>((resume) => {
        if (duplex.destroyed) return resume(Effect.void)
        if (duplex.write(chunk)) return resume(Effect.void)
        const done = () => {
          duplex.off("drain", done)
          duplex.off("close", done)
          resume(Effect.void)
        }
        duplex.once("drain", done)
        duplex.once("close", done)
      })
    // A synchronous codec (zstd-napi, bzip2) works inside `write`: pieces of at most PIECE bytes, with
    // the event loop's turn between them once the slice is used up, keep each step short.
    const write = (chunk: Uint8Array): Effect.Effect<void> =>
      chunk.length <= PIECE
        ? Effect.zipRight(yieldIfSliceUsedUp, writePiece(chunk))
        : Effect.forEach(
          Array.from({ length: Math.ceil(chunk.length / PIECE) }, (_, i) => chunk.subarray(i * PIECE, (i + 1) * PIECE)),
          (piece) => Effect.zipRight(yieldIfSliceUsedUp, writePiece(piece)),
          { discard: true }
        )
    yield* Stream.runForEach(self, write).pipe(
      Effect.matchEffect({
        onFailure: (e) =>
          Effect.sync(() => {
            upstream = Option.some(e)
            duplex.destroy(new Error("the input failed"))
          }),
        onSuccess: () => Effect.sync(() => duplex.end())
      }),
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() => Effect.sync(() => duplex.destroy()))
    return NodeStream.fromReadable<E | E2, Uint8Array>(
      () => duplex,
      (cause): E | E2 => (Option.isSome(upstream) ? upstream.value : onError(cause))
    )
  }))

/** Compresses a byte stream with `method`. */
export const compress =
  (method: CompressionMethod, options: CompressOptions = {}) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | CompressionError, R> =>
    method === "none" ? self : pipeThroughTransform(
      self,
      () => compressor(method, options),
      (cause) => new CompressionError({ method, operation: "compress", cause })
    )

/** What the first bytes of a file say it is compressed with (libarchive's bidders for the codecs above). */
export const detectCompression = (head: Uint8Array): "xz" | "zstd" | "bzip2" | "gzip" | undefined => {
  const at = (i: number) => head[i]
  if (at(0) === 0xfd && at(1) === 0x37 && at(2) === 0x7a && at(3) === 0x58 && at(4) === 0x5a && at(5) === 0x00) {
    return "xz"
  }
  if (at(0) === 0x28 && at(1) === 0xb5 && at(2) === 0x2f && at(3) === 0xfd) return "zstd"
  if (at(0) === 0x42 && at(1) === 0x5a && at(2) === 0x68 && (at(3) ?? 0) >= 0x31 && (at(3) ?? 0) <= 0x39) {
    return "bzip2"
  }
  if (at(0) === 0x1f && at(1) === 0x8b) return "gzip"
  return undefined
}

const decompressor = (method: "xz" | "zstd" | "bzip2" | "gzip" | "br"): Duplex => {
  switch (method) {
    case "xz":
      return lzma().createUnxz()
    case "zstd":
      return new (zstd().DecompressStream)()
    case "bzip2":
      return new ClassicDuplex(unbzip2()())
    case "gzip":
      return zlib.createGunzip()
    case "br":
      return zlib.createBrotliDecompress()
  }
}

const HEAD = 6

/**
 * Decompresses a stream labelled `method` (a narinfo's `Compression:`) as
 * Nix does: `none` or `""` as is, `br` as brotli, anything else by its first
 * bytes (xz, zstd, bzip2, gzip; other bytes pass through unchanged).
 * A truncated or corrupt input fails with CompressionError.
 */
export const decompress =
  (method: string) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | CompressionError, R> => {
    if (method === "none" || method === "") return self
    const through = (m: "xz" | "zstd" | "bzip2" | "gzip" | "br", s: Stream.Stream<Uint8Array, E, R>) =>
      pipeThroughTransform(
        s,
        () => decompressor(m),
        (cause) => new CompressionError({ method: m, operation: "decompress", cause })
      )
    if (method === "br") return through("br", self)
    return Stream.unwrapScoped(Effect.gen(function*() {
      const pull = yield* Stream.toPull(self)
      const head: Array<Uint8Array> = []
      let size = 0
      let ended = false
      while (size < HEAD && !ended) {
        const next = yield* Effect.either(pull)
        if (next._tag === "Left") {
          if (Option.isSome(next.left)) return Stream.fail(next.left.value)
          ended = true
        } else {
          for (const c of next.right) {
            head.push(c)
            size += c.length
          }
        }
      }
      const first = Buffer.concat(head)
      const rest: Stream.Stream<Uint8Array, E, R> = ended
        ? Stream.make(first)
        : Stream.concat(
          Stream.make(first),
          Stream.flattenChunks(Stream.repeatEffectOption(pull))
        )
      const kind = detectCompression(first)
      if (kind === undefined) return rest
      if (kind !== "xz") return through(kind, rest)
      // liblzma's binding does not report a stream cut short: an xz stream ends with its footer's "YZ".
      const tail = new Uint8Array(2)
      const tracked = Stream.map(rest, (c) => {
        if (c.length >= 2) tail.set(c.subarray(c.length - 2))
        else if (c.length === 1) {
          tail[0] = tail[1]!
          tail[1] = c[0]!
        }
        return c
      })
      return Stream.concat(
        through("xz", tracked),
        Stream.suspend(() =>
          tail[0] === 0x59 && tail[1] === 0x5a ? Stream.empty : Stream.fail(
            new CompressionError({ method: "xz", operation: "decompress", cause: new Error("truncated xz stream") })
          )
        )
      )
    }))
  }
