/**
 * Nix's reference scanner (`libstore/references.cc`): which of a set of store path hash parts occur in
 * a byte stream (the NAR of a build output).
 *
 * A hash part is 32 nix32 characters. Rather than look at every 32-byte window (Nix's way, which reads
 * every byte of text and looks up every window of a run of nix32 characters), the scan reads 4 bytes
 * every 29 (a probe): any 32-byte window holds exactly one probe position `p` with `p..p+4` inside it,
 * so a hash part occurring at `i` shows the probe the 4 bytes it has at offset `p - i` (0 to 28). The
 * 4-byte pieces of every candidate at every offset are put in a bit filter and an open-addressing
 * table; a probe whose 4 bytes pass the filter is looked up and each (candidate, offset) it names is
 * compared in full at `p - offset`. The cost is the same on binary data, text and all-nix32 data:
 * about one look-up per 29 bytes, no string built, no allocation per probe or candidate.
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

/** The bytes read at each probe. */
const gram = 4
/** The distance between probes: every 32-byte window holds one probe whose 4 bytes it contains. */
const stride = hashPartLength - gram + 1
/** The most bytes kept from one chunk for the next (a window needs 32). */
const tailMax = hashPartLength - 1

/** The 4 bytes at `i` as one 32-bit number. */
const key4 = (b: Uint8Array, i: number): number => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))

/** Mixes a key (multiplicative hashing); the caller keeps the high bits it needs. */
const mix = (key: number): number => Math.imul(key, 0x9e3779b1)

const isNix32 = (h: string): boolean => {
  for (let i = 0; i < h.length; i++) if (!nix32Alphabet.includes(h[i]!)) return false
  return true
}

/**
 * Makes a scanner for the given hash parts (32-character nix32 strings; others can never occur and
 * are ignored).
 */
export const makeReferenceScanner = (hashParts: ReadonlyArray<string>): ReferenceScanner => {
  const wanted = [...new Set(hashParts)].filter((h) => h.length === hashPartLength && isNix32(h))
  const n = wanted.length
  // Every candidate's bytes, one after another.
  const cand = new Uint8Array(n * hashPartLength)
  for (let w = 0; w < n; w++) cand.set(new TextEncoder().encode(wanted[w]!), w * hashPartLength)

  // The (candidate, offset) pairs, as w * stride + offset, chained per distinct 4-byte key.
  const pairs = n * stride
  let tableBits = 4
  while ((1 << tableBits) < pairs * 2) tableBits++
  const tableMask = (1 << tableBits) - 1
  const keys = new Int32Array(1 << tableBits)
  const heads = new Int32Array(1 << tableBits).fill(-1)
  const next = new Int32Array(Math.max(1, pairs)).fill(-1)
  // A filter of 2^filterBits bits over the keys: most probes stop at one bit.
  let filterBits = 10
  while (filterBits < 26 && (1 << filterBits) < pairs * 64) filterBits++
  const filterShift = 32 - filterBits
  const filter = new Int32Array(1 << (filterBits - 5))
  for (let w = 0; w < n; w++) {
    for (let o = 0; o < stride; o++) {
      const k = key4(cand, w * hashPartLength + o)
      const f = mix(k) >>> filterShift
      filter[f >>> 5]! |= 1 << (f & 31)
      let s = (mix(k) >>> (32 - tableBits)) & tableMask
      while (heads[s] !== -1 && keys[s] !== k) s = (s + 1) & tableMask
      keys[s] = k
      // Prepend: the order of the chain does not matter.
      const pair = w * stride + o
      next[pair] = heads[s]!
      heads[s] = pair
    }
  }

  const seen = new Set<string>()
  const found = new Uint8Array(n)

  /** Whether `b[i..i+32)` is candidate `w`. */
  const equalAt = (b: Uint8Array, i: number, w: number): boolean => {
    const c = w * hashPartLength
    for (let j = 0; j < hashPartLength; j++) if (b[i + j] !== cand[c + j]) return false
    return true
  }

  /** The probe at `p` passed the filter: compares every (candidate, offset) with its 4 bytes. */
  const lookup = (b: Uint8Array, p: number, k: number): void => {
    let s = (mix(k) >>> (32 - tableBits)) & tableMask
    while (heads[s] !== -1) {
      if (keys[s] === k) {
        const last = b.length - hashPartLength
        for (let pair = heads[s]!; pair !== -1; pair = next[pair]!) {
          const w = (pair / stride) | 0
          const i = p - (pair - w * stride)
          if (found[w] === 0 && i >= 0 && i <= last && equalAt(b, i, w)) {
            found[w] = 1
            seen.add(wanted[w]!)
          }
        }
        return
      }
      s = (s + 1) & tableMask
    }
  }

  /** Finds the candidates lying wholly inside `b`. */
  const scan = (b: Uint8Array): void => {
    if (b.length < hashPartLength) return
    const end = b.length - gram
    const fl = filter
    const shift = filterShift
    for (let p = 0; p <= end; p += stride) {
      const k = key4(b, p)
      const f = mix(k) >>> shift
      if ((fl[f >>> 5]! & (1 << (f & 31))) !== 0) lookup(b, p, k)
    }
  }

  // The last bytes seen (up to 31), and room for them followed by the start of the next chunk.
  const joint = new Uint8Array(2 * tailMax)
  let tailLength = 0

  return {
    update: (chunk) => {
      if (n === 0 || chunk.length === 0) return
      // The windows that start in the kept tail and end in this chunk.
      const head = Math.min(chunk.length, tailMax)
      joint.set(chunk.subarray(0, head), tailLength)
      const jointLength = tailLength + head
      if (tailLength > 0) scan(joint.subarray(0, jointLength))
      scan(chunk)
      // Keep the last 31 bytes of everything seen so far.
      if (chunk.length >= tailMax) {
        joint.set(chunk.subarray(chunk.length - tailMax))
        tailLength = tailMax
      } else {
        const from = Math.max(0, jointLength - tailMax)
        joint.copyWithin(0, from, jointLength)
        tailLength = jointLength - from
      }
    },
    result: () => new Set(seen)
  }
}
