/**
 * Nix's reference scanner (`libstore/references.cc`): which of a set of store path hash parts occur in
 * a byte stream (the NAR of a build output).
 *
 * A hash part is 32 nix32 characters. The scan looks at every window of 32 bytes; like Nix it
 * checks a window from its last byte backwards and, on the first byte outside the nix32 alphabet at
 * offset `j`, skips past it (no window containing that byte can match), so on binary data most
 * bytes are never looked at; inside a run of nix32 bytes each step checks only the one new byte.
 * A window made only of nix32 characters goes through a filter on its first three characters, then
 * is looked up by its first four bytes in an open-addressing table; no string is built.
 *
 * Streaming: `update` may be called with chunks of any size; the last 31 bytes seen are kept and
 * scanned together with the start of the next chunk, so a hash split across chunks is found.
 *
 * @since 0.1.0
 */
import { nix32Alphabet } from "./nix32.js"

/** The length of a store path's hash part in nix32 characters. */
export const hashPartLength = 32

/** A streaming scanner: feed it bytes, then ask which hash parts it saw. */
export interface ReferenceScanner {
  /** Scans the next chunk of the stream. The chunk is not kept (it may be reused by the caller). */
  readonly update: (chunk: Uint8Array) => void
  /** The hash parts seen so far (a subset of the ones the scanner was made with). */
  readonly result: () => ReadonlySet<string>
}

/** 1 for the bytes of the nix32 alphabet, 0 for every other byte. */
const isNix32Byte: Uint8Array = (() => {
  const t = new Uint8Array(256)
  for (let i = 0; i < nix32Alphabet.length; i++) t[nix32Alphabet.charCodeAt(i)] = 1
  return t
})()

/** The nix32 digit of each byte (0 for bytes outside the alphabet; only read for nix32 bytes). */
const digitOfByte: Uint8Array = (() => {
  const t = new Uint8Array(256)
  for (let i = 0; i < nix32Alphabet.length; i++) t[nix32Alphabet.charCodeAt(i)] = i
  return t
})()

/** The first four bytes of a window as one 32-bit number (the table key). */
const key4 = (
  b: Uint8Array,
  i: number
): number => ((b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0)

/** Mixes a key into a table slot (multiplicative hashing). */
const slotOf = (key: number, mask: number): number => (Math.imul(key, 0x9e3779b1) >>> 16) & mask

/**
 * Makes a scanner for the given hash parts (32-character nix32 strings; others can never occur and
 * are ignored).
 */
export const makeReferenceScanner = (hashParts: ReadonlyArray<string>): ReferenceScanner => {
  const wanted = [...new Set(hashParts)].filter((h) =>
    h.length === hashPartLength && [...h].every((c) => nix32Alphabet.includes(c))
  )
  const bytes = wanted.map((h) => new TextEncoder().encode(h))
  let size = 16
  while (size < wanted.length * 4) size *= 2
  const mask = size - 1
  // slot -> index+1 of the first candidate with that key; chained through `next`.
  const keys = new Uint32Array(size)
  const heads = new Int32Array(size)
  const next = new Int32Array(wanted.length).fill(-1)
  for (let w = 0; w < wanted.length; w++) {
    const k = key4(bytes[w]!, 0)
    let s = slotOf(k, mask)
    while (heads[s] !== 0 && keys[s] !== k) s = (s + 1) & mask
    if (heads[s] === 0) {
      keys[s] = k
      heads[s] = w + 1
    } else {
      let c = heads[s]! - 1
      while (next[c]! !== -1) c = next[c]!
      next[c] = w
    }
  }
  // A filter on the first three characters (15 bits): most all-nix32 windows stop here.
  const prefix3 = new Uint8Array(1 << 15)
  for (const b of bytes) prefix3[(digitOfByte[b[0]!]! << 10) | (digitOfByte[b[1]!]! << 5) | digitOfByte[b[2]!]!] = 1
  const seen = new Set<string>()
  const found = new Uint8Array(wanted.length)

  /** Whether window `b[i..i+32)` equals candidate `w`. */
  const equalAt = (b: Uint8Array, i: number, w: number): boolean => {
    const c = bytes[w]!
    for (let j = 4; j < hashPartLength; j++) if (b[i + j] !== c[j]) return false
    return true
  }

  /** Looks up the all-nix32 window at `i` whose first three characters passed the filter. */
  const lookup = (b: Uint8Array, i: number): void => {
    const k = key4(b, i)
    let s = slotOf(k, mask)
    while (heads[s] !== 0) {
      if (keys[s] === k) {
        for (let w = heads[s]! - 1; w !== -1; w = next[w]!) {
          if (found[w] === 0 && equalAt(b, i, w)) {
            found[w] = 1
            seen.add(wanted[w]!)
          }
        }
        return
      }
      s = (s + 1) & mask
    }
  }

  /** Scans every 32-byte window that lies wholly inside `b`. */
  const scan = (b: Uint8Array): void => {
    const end = b.length - hashPartLength
    const valid = isNix32Byte
    const digit = digitOfByte
    const filter = prefix3
    let i = 0
    // b[i..known) is known to be all nix32 (a run): sliding on within it checks one new byte.
    let known = 0
    outer: while (i <= end) {
      for (let j = i + hashPartLength - 1; j >= known; j--) {
        if (valid[b[j]!] === 0) {
          i = j + 1
          known = i
          continue outer
        }
      }
      known = i + hashPartLength
      if (filter[(digit[b[i]!]! << 10) | (digit[b[i + 1]!]! << 5) | digit[b[i + 2]!]!] === 1) lookup(b, i)
      i++
    }
  }

  const tailMax = hashPartLength - 1
  let tail = new Uint8Array(0)

  return {
    update: (chunk) => {
      if (wanted.length === 0 || chunk.length === 0) return
      let joint: Uint8Array | undefined
      if (tail.length > 0) {
        // The windows that start in the kept tail and end in this chunk.
        const head = chunk.subarray(0, Math.min(chunk.length, tailMax))
        joint = new Uint8Array(tail.length + head.length)
        joint.set(tail)
        joint.set(head, tail.length)
        scan(joint)
      }
      scan(chunk)
      // Keep the last 31 bytes of everything seen so far.
      if (chunk.length >= tailMax) tail = chunk.slice(chunk.length - tailMax)
      else {
        const all = joint ?? chunk
        tail = all.slice(Math.max(0, all.length - tailMax))
      }
    },
    result: () => new Set(seen)
  }
}
