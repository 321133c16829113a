/**
 * HTTP byte ranges (RFC 9110 §14) for one resource of known size: the single
 * range `tsnix serve` honours. Several ranges in one header are answered with
 * the whole resource (allowed by the RFC), as are malformed headers.
 *
 * @since 0.1.0
 */

/** What to send for a `Range` header. */
export type RangeAnswer =
  /** The whole resource (no header, a malformed one, or several ranges): 200. */
  | { readonly _tag: "Full" }
  /** Bytes `start` to `end` inclusive: 206 with `Content-Range: bytes start-end/size`. */
  | { readonly _tag: "Partial"; readonly start: number; readonly end: number }
  /** No byte of the range exists: 416 with `Content-Range: bytes * /size`. */
  | { readonly _tag: "Unsatisfiable" }

const full: RangeAnswer = { _tag: "Full" }
const digits = /^[0-9]+$/

/** Answers the `Range` header `header` (undefined: none) for a resource of `size` bytes. */
export const parseRange = (header: string | undefined, size: number): RangeAnswer => {
  if (header === undefined) return full
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header)
  if (m === null) return full
  const spec = (m[1] as string).trim()
  if (spec.includes(",")) return full
  const dash = spec.indexOf("-")
  if (dash < 0) return full
  const first = spec.slice(0, dash).trim()
  const last = spec.slice(dash + 1).trim()
  if (first === "") {
    // a suffix: the last N bytes
    if (!digits.test(last)) return full
    const n = Number(last)
    if (n === 0 || size === 0) return { _tag: "Unsatisfiable" }
    return { _tag: "Partial", start: Math.max(0, size - n), end: size - 1 }
  }
  if (!digits.test(first) || (last !== "" && !digits.test(last))) return full
  const start = Number(first)
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1)
  if (last !== "" && Number(last) < start) return full
  if (start >= size) return { _tag: "Unsatisfiable" }
  return { _tag: "Partial", start, end }
}

/** The `Content-Range` value of an answer for a resource of `size` bytes. */
export const contentRange = (answer: RangeAnswer, size: number): string | undefined =>
  answer._tag === "Partial"
    ? `bytes ${answer.start}-${answer.end}/${size}`
    : answer._tag === "Unsatisfiable"
    ? `bytes */${size}`
    : undefined
