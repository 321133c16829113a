/**
 * Encoders of Nix's wire primitives. This module imports nothing (not even
 * Effect), so the NAR dump worker thread can use it and stay small.
 *
 * @since 0.1.0
 */
const utf8Encoder = new TextEncoder()

/** Bytes of a string (UTF-8) or the bytes themselves. */
export const toBytes = (s: string | Uint8Array): Uint8Array => (typeof s === "string" ? utf8Encoder.encode(s) : s)

/** Number of zero bytes that pad `n` bytes to a multiple of 8. */
export const padLength = (n: number): number => (8 - (n % 8)) % 8

/** Size of a padded string of `n` bytes: length word, payload, padding. */
export const strLength = (n: number): number => 8 + n + padLength(n)

/** Writes `n` as a little-endian u64 at `offset`; `n` must be a non-negative safe integer or a bigint. */
export const writeU64 = (buf: Uint8Array, offset: number, n: number | bigint): void => {
  let lo: number
  let hi: number
  if (typeof n === "number") {
    lo = n >>> 0
    hi = Math.floor(n / 0x100000000) >>> 0
  } else {
    lo = Number(n & 0xffffffffn)
    hi = Number((n >> 32n) & 0xffffffffn)
  }
  buf[offset] = lo & 0xff
  buf[offset + 1] = (lo >>> 8) & 0xff
  buf[offset + 2] = (lo >>> 16) & 0xff
  buf[offset + 3] = lo >>> 24
  buf[offset + 4] = hi & 0xff
  buf[offset + 5] = (hi >>> 8) & 0xff
  buf[offset + 6] = (hi >>> 16) & 0xff
  buf[offset + 7] = hi >>> 24
}

/** A little-endian u64 as 8 bytes (bigint allowed, so tests can encode absurd lengths). */
export const encodeU64 = (n: number | bigint): Uint8Array => {
  const out = new Uint8Array(8)
  writeU64(out, 0, n)
  return out
}

/** A boolean as Nix writes it: u64 1 or 0. */
export const encodeBool = (b: boolean): Uint8Array => encodeU64(b ? 1 : 0)

/** Writes a padded string of `bytes` at `offset` (padding bytes are zeroed); returns the offset after it. */
export const writePadded = (buf: Uint8Array, offset: number, bytes: Uint8Array): number => {
  writeU64(buf, offset, bytes.length)
  buf.set(bytes, offset + 8)
  const end = offset + 8 + bytes.length
  const pad = padLength(bytes.length)
  buf.fill(0, end, end + pad)
  return end + pad
}

/** A string or bytes as Nix writes them: u64 length, the bytes, zero padding to a multiple of 8. */
export const encodePadded = (s: string | Uint8Array): Uint8Array => {
  const bytes = toBytes(s)
  const out = new Uint8Array(strLength(bytes.length))
  writePadded(out, 0, bytes)
  return out
}

/** Concatenates byte arrays. */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let total = 0
  for (const p of parts) total += p.length
  const out = new Uint8Array(total)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

/** A list of strings: u64 count, then each padded string. */
export const encodeStrings = (items: ReadonlyArray<string | Uint8Array>): Uint8Array =>
  concatBytes([encodeU64(items.length), ...items.map(encodePadded)])

/** One frame of a framed stream: u64 length, then the bytes (no padding). An empty chunk writes nothing. */
export const encodeFrame = (chunk: Uint8Array): Uint8Array =>
  chunk.length === 0 ? new Uint8Array(0) : concatBytes([encodeU64(chunk.length), chunk])

/** The frame that ends a framed stream: u64 0. */
export const FRAMED_END: Uint8Array = encodeU64(0)

/** A whole framed stream of `chunks` (one frame per non-empty chunk), terminator included. */
export const encodeFramed = (chunks: Iterable<Uint8Array>): Uint8Array => {
  const parts: Array<Uint8Array> = []
  for (const c of chunks) if (c.length > 0) parts.push(encodeU64(c.length), c)
  parts.push(FRAMED_END)
  return concatBytes(parts)
}
