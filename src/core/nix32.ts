/**
 * Nix's base-32 encoding ("nix32").
 *
 * Nix prints hashes and store path hash parts in its own base-32 dialect: the
 * alphabet omits `e`, `o`, `u` and `t`, and the bits are read from the end of
 * the byte array, so the printed string is not standard RFC 4648 base32.
 * Character `k` (printed from `k = len - 1` down to `0`) holds the 5 bits that
 * start at bit `5k` of the bytes read little-endian.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"

/** The 32 characters of Nix's base-32 alphabet, in digit order. */
export const nix32Alphabet = "0123456789abcdfghijklmnpqrsvwxyz"

/** Why a string is not valid nix32 (wrong length, bad character, high bits set). */
export class Nix32Error extends Data.TaggedError("Nix32Error")<{
  readonly input: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid nix32 string '${this.input}': ${this.reason}`
  }
}

/** Digit value of each character code, or -1 (indexed by char code < 128). */
const digitOf: ReadonlyArray<number> = (() => {
  const table = new Array<number>(128).fill(-1)
  for (let i = 0; i < nix32Alphabet.length; i++) table[nix32Alphabet.charCodeAt(i)] = i
  return table
})()

/** Number of nix32 characters that encode `byteLength` bytes (0 for 0 bytes). */
export const nix32EncodedLength = (byteLength: number): number =>
  byteLength <= 0 ? 0 : Math.floor((byteLength * 8 - 1) / 5) + 1

/** The byte length a nix32 string of `length` characters decodes to, if any. */
export const nix32DecodedLength = (length: number): number | undefined => {
  const n = Math.floor((length * 5) / 8)
  return nix32EncodedLength(n) === length ? n : undefined
}

/** Encodes bytes in Nix's base-32 (as `printHash32` does). */
export const encodeNix32 = (bytes: Uint8Array): string => {
  const len = nix32EncodedLength(bytes.length)
  let out = ""
  for (let n = len - 1; n >= 0; n--) {
    const b = n * 5
    const i = b >> 3
    const j = b & 7
    const lo = (bytes[i] ?? 0) >> j
    const hi = i + 1 < bytes.length ? (bytes[i + 1] ?? 0) << (8 - j) : 0
    out += nix32Alphabet[(lo | hi) & 0x1f]
  }
  return out
}

/**
 * Decodes a nix32 string. When `byteLength` is given the string must have
 * exactly the matching length; otherwise the length must be one that some
 * byte length encodes to. Bits beyond the last byte must be zero.
 */
export const decodeNix32 = (s: string, byteLength?: number): Either.Either<Uint8Array, Nix32Error> => {
  if (byteLength !== undefined && !(Number.isSafeInteger(byteLength) && byteLength >= 0)) {
    return Either.left(new Nix32Error({ input: s, reason: `invalid byte length ${byteLength}` }))
  }
  const size = byteLength === undefined ? nix32DecodedLength(s.length) : byteLength
  if (size === undefined || nix32EncodedLength(size) !== s.length) {
    return Either.left(
      new Nix32Error({
        input: s,
        reason: byteLength === undefined
          ? `length ${s.length} is not a valid nix32 length`
          : `length ${s.length} does not encode ${byteLength} bytes (expected ${nix32EncodedLength(byteLength)})`
      })
    )
  }
  const out = new Uint8Array(size)
  const len = s.length
  for (let n = 0; n < len; n++) {
    const code = s.charCodeAt(len - n - 1)
    const digit = code < 128 ? (digitOf[code] ?? -1) : -1
    if (digit < 0) {
      return Either.left(
        new Nix32Error({ input: s, reason: `invalid character '${s.charAt(len - n - 1)}' at position ${len - n - 1}` })
      )
    }
    const b = n * 5
    const i = b >> 3
    const j = b & 7
    out[i] = (out[i] ?? 0) | ((digit << j) & 0xff)
    const carry = digit >> (8 - j)
    if (i < size - 1) {
      out[i + 1] = (out[i + 1] ?? 0) | carry
    } else if (carry !== 0) {
      return Either.left(new Nix32Error({ input: s, reason: "high bits set beyond the encoded bytes" }))
    }
  }
  return Either.right(out)
}

/** True when `s` is a valid nix32 string (of `byteLength` bytes, if given). */
export const isNix32 = (s: string, byteLength?: number): boolean => Either.isRight(decodeNix32(s, byteLength))
