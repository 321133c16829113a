/**
 * What an HTTP status means to a binary cache client, as Nix 2.8's
 * filetransfer decides: absent, a hard error, or transient (retried).
 *
 * @since 0.1.0
 */

/** The class of a status code. */
export type StatusClass = "ok" | "absent" | "fatal" | "transient"

/**
 * 2xx is ok; 404, 410, 403, 401 and 407 mean "not there" (403: S3 without
 * list permission); 408 and 429 are transient, other 4xx and 501, 505, 511
 * are hard errors; everything else (5xx, 3xx left over after redirects) is
 * transient.
 */
export const classifyStatus = (status: number): StatusClass => {
  if (status >= 200 && status < 300) return "ok"
  if (status === 404 || status === 410 || status === 403 || status === 401 || status === 407) return "absent"
  if (status === 408 || status === 429) return "transient"
  if (status >= 400 && status < 500) return "fatal"
  if (status === 501 || status === 505 || status === 511) return "fatal"
  return "transient"
}
