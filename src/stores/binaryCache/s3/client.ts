/**
 * The transport of an `s3://bucket` binary cache, through the AWS SDK
 * (`@aws-sdk/client-s3`): its default credential chain (or the URI's
 * profile), HeadObject/GetObject/ListObjectsV2, and uploads through
 * `@aws-sdk/lib-storage` (multipart for files over one part, a few parts in
 * flight at a time, so memory stays bounded). Absent objects (NoSuchKey,
 * NotFound, 404, 403: a bucket without list permission) are "not there", as
 * in Nix. The SDK retries transient failures itself (`download-attempts`
 * tries). Bodies stream: a download is pulled as the consumer reads it.
 *
 * @since 0.1.0
 */
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client
} from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import { Data, Effect, Option, type Scope, Stream } from "effect"
import { Readable } from "node:stream"
import type { S3Location } from "./uri.js"

/** A request to the bucket failed. */
export class S3CacheError extends Data.TaggedError("S3CacheError")<{
  readonly message: string
  readonly key: string
  readonly cause?: unknown
}> {}

/** How the client connects (for tests and non-AWS servers). */
export interface S3TransportOptions {
  /** Static credentials instead of the default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined
  /** Tries of a request (Nix's `download-attempts`, default 5). */
  readonly attempts?: number | undefined
}

/** The transport of one bucket. */
export interface S3Transport {
  readonly bucket: string
  /** HeadObject: true when the object exists. */
  readonly exists: (key: string) => Effect.Effect<boolean, S3CacheError>
  /** GetObject of a small object, whole; none when absent. */
  readonly get: (key: string) => Effect.Effect<Option.Option<Uint8Array>, S3CacheError>
  /** GetObject as a byte stream; none when absent. */
  readonly getStream: (
    key: string
  ) => Effect.Effect<Option.Option<Stream.Stream<Uint8Array, S3CacheError>>, S3CacheError>
  /** Uploads an object (multipart when it is larger than a part). */
  readonly put: <E>(
    key: string,
    body: Uint8Array | Stream.Stream<Uint8Array, E>,
    contentType: string,
    contentEncoding?: string
  ) => Effect.Effect<void, S3CacheError | E>
  /** Every key of the bucket's top level (ListObjectsV2 with delimiter `/`). */
  readonly listTopLevel: Effect.Effect<ReadonlyArray<string>, S3CacheError>
}

const isAbsent = (e: unknown): boolean => {
  if (typeof e !== "object" || e === null) return false
  const name = "name" in e ? e.name : undefined
  if (name === "NoSuchKey" || name === "NotFound" || name === "Forbidden") return true
  const meta = "$metadata" in e ? e.$metadata : undefined
  const status = typeof meta === "object" && meta !== null && "httpStatusCode" in meta ? meta.httpStatusCode : undefined
  return status === 404 || status === 403
}

const describe = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" && e.message !== ""
    ? e.message
    : typeof e === "object" && e !== null && "name" in e
    ? String(e.name)
    : String(e)

/** Opens the client of a bucket; its connections close with the scope. */
export const make = (
  location: S3Location,
  options: S3TransportOptions = {}
): Effect.Effect<S3Transport, never, Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new S3Client({
          region: location.region,
          ...(location.endpoint !== undefined ? { endpoint: location.endpoint, forcePathStyle: true } : {}),
          ...(location.profile !== undefined ? { profile: location.profile } : {}),
          ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
          maxAttempts: options.attempts ?? 5,
          // checksums only where S3 requires them (S3-compatible servers may not know the newer ones)
          requestChecksumCalculation: "WHEN_REQUIRED",
          responseChecksumValidation: "WHEN_REQUIRED"
        })
      ),
      (c) => Effect.sync(() => c.destroy())
    )
    const bucket = location.bucket
    const where = (key: string) => `s3://${bucket}/${key}`
    const fail = (key: string, verb: string) => (cause: unknown) =>
      new S3CacheError({ message: `unable to ${verb} '${where(key)}': ${describe(cause)}`, key, cause })

    const exists = (key: string) =>
      Effect.tryPromise({
        try: (signal) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
        catch: (e) => e
      }).pipe(
        Effect.as(true),
        Effect.catchAll((e) => (isAbsent(e) ? Effect.succeed(false) : Effect.fail(fail(key, "query")(e))))
      )

    const getObject = (key: string) =>
      Effect.tryPromise({
        try: (signal) => client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
        catch: (e) => e
      }).pipe(
        Effect.map((res) => Option.some(res)),
        Effect.catchAll((e) =>
          isAbsent(e) ? Effect.succeed(Option.none<GetObjectCommandOutput>()) : Effect.fail(fail(key, "download")(e))
        )
      )

    const bodyStream = (key: string, body: unknown): Stream.Stream<Uint8Array, S3CacheError> =>
      body instanceof Readable
        ? Stream.fromAsyncIterable(body as AsyncIterable<Uint8Array>, fail(key, "download"))
        : Stream.fail(new S3CacheError({ message: `unable to download '${where(key)}': no body`, key }))

    const getStream = (key: string) => Effect.map(getObject(key), Option.map((res) => bodyStream(key, res.Body)))

    const get = (key: string) =>
      Effect.flatMap(getStream(key), (s) =>
        Option.isNone(s)
          ? Effect.succeed(Option.none<Uint8Array>())
          : Effect.map(Stream.runCollect(s.value), (chunks) => Option.some(new Uint8Array(Buffer.concat([...chunks])))))

    const put = <E>(
      key: string,
      body: Uint8Array | Stream.Stream<Uint8Array, E>,
      contentType: string,
      contentEncoding?: string
    ): Effect.Effect<void, S3CacheError | E> =>
      Effect.gen(function*() {
        let streamFailure: Option.Option<E> = Option.none()
        const nodeBody = body instanceof Uint8Array
          ? Buffer.from(body.buffer, body.byteOffset, body.byteLength)
          : Readable.from(
            Stream.toAsyncIterable(
              body.pipe(Stream.tapError((e) => Effect.sync(() => void (streamFailure = Option.some(e)))))
            )
          )
        const upload = new Upload({
          client,
          params: {
            Bucket: bucket,
            Key: key,
            Body: nodeBody,
            ContentType: contentType,
            ...(contentEncoding !== undefined ? { ContentEncoding: contentEncoding } : {})
          },
          partSize: location.partSize,
          queueSize: 4,
          leavePartsOnError: false
        })
        yield* Effect.tryPromise({
          try: () => upload.done(),
          catch: (e) => e
        }).pipe(
          Effect.onInterrupt(() => Effect.promise(() => upload.abort().catch(() => undefined))),
          Effect.catchAll((e): Effect.Effect<never, S3CacheError | E> =>
            Option.isSome(streamFailure) ? Effect.fail(streamFailure.value) : Effect.fail(fail(key, "upload")(e))
          )
        )
      })

    const listTopLevel = Effect.gen(function*() {
      const keys: Array<string> = []
      let token: string | undefined
      do {
        const page = yield* Effect.tryPromise({
          try: (signal) =>
            client.send(
              new ListObjectsV2Command({ Bucket: bucket, Delimiter: "/", ContinuationToken: token }),
              { abortSignal: signal }
            ),
          catch: fail("", "list")
        })
        for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key)
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined
      } while (token !== undefined)
      return keys
    })

    return { bucket, exists, get, getStream, put, listTopLevel }
  })
