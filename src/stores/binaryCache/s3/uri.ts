/**
 * `s3://bucket[?region=…&endpoint=…&scheme=…&profile=…]`, as Nix 2.8 reads it
 * (`S3BinaryCacheStoreConfig`): `region` (alias `aws-region`, default
 * us-east-1), `endpoint` (`host[:port]` or a URL, for MinIO, R2, …; it makes
 * requests path-style), `scheme` (`http` or `https`, for an endpoint given
 * without one), `profile` (an AWS profile; else the default credential
 * chain), `multipart-upload` and `buffer-size` (the part size, default 5 MiB).
 * Other parameters are the binary cache's and are left to it.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"

/** A parsed s3:// URI. */
export interface S3Location {
  readonly bucket: string
  readonly region: string
  /** The endpoint as a URL (`scheme://host[:port]`), or undefined for AWS. */
  readonly endpoint: string | undefined
  readonly profile: string | undefined
  /** Multipart uploads for large files (Nix's `multipart-upload`; tsnix: on by default). */
  readonly multipartUpload: boolean
  /** Part size of multipart uploads, in bytes (at least 5 MiB, S3's minimum). */
  readonly partSize: number
  /** Every query parameter, for the binary cache's own (`compression`, `secret-key`, …). */
  readonly params: ReadonlyMap<string, string>
}

/** A malformed s3:// URI. */
export class InvalidS3UriError
  extends Data.TaggedError("InvalidS3UriError")<{ readonly uri: string; readonly reason: string }>
{
  override get message() {
    return `invalid S3 store URI '${this.uri}': ${this.reason}`
  }
}

const MIB = 1024 * 1024

/** Parses `s3://bucket?…`. */
export const parseS3Uri = (uri: string): Either.Either<S3Location, InvalidS3UriError> => {
  const fail = (reason: string) => Either.left(new InvalidS3UriError({ uri, reason }))
  if (!uri.startsWith("s3://")) return fail("it does not start with 's3://'")
  const rest = uri.slice(5)
  const q = rest.indexOf("?")
  const bucket = q < 0 ? rest : rest.slice(0, q)
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) return fail(`'${bucket}' is not a valid bucket name`)
  const params = new Map(new URLSearchParams(q < 0 ? "" : rest.slice(q + 1)))
  const scheme = params.get("scheme") ?? "https"
  if (scheme !== "http" && scheme !== "https") return fail(`scheme '${scheme}' is neither http nor https`)
  const endpointParam = params.get("endpoint")
  let endpoint: string | undefined
  if (endpointParam !== undefined && endpointParam !== "") {
    endpoint = /^https?:\/\//.test(endpointParam) ? endpointParam : `${scheme}://${endpointParam}`
    try {
      new URL(endpoint)
    } catch {
      return fail(`endpoint '${endpointParam}' is not a host or URL`)
    }
  }
  const bufferSize = params.get("buffer-size")
  const partSize = bufferSize === undefined ? 5 * MIB : Number(bufferSize)
  if (!Number.isSafeInteger(partSize) || partSize < 5 * MIB) return fail("buffer-size must be at least 5 MiB")
  const multipart = params.get("multipart-upload")
  if (multipart !== undefined && multipart !== "true" && multipart !== "false") {
    return fail(`multipart-upload must be true or false, not '${multipart}'`)
  }
  return Either.right({
    bucket,
    region: params.get("region") ?? params.get("aws-region") ?? "us-east-1",
    endpoint,
    profile: params.get("profile") || undefined,
    multipartUpload: multipart !== "false",
    partSize,
    params
  })
}
