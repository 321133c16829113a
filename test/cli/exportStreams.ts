/**
 * Synthetic export streams of many small paths, for CLI tests at scale.
 */
import { encodeExport } from "../../src/core/exportFormat.js"
import { encodeNar } from "../../src/core/nar/encode.js"

const nix32 = "0123456789abcdfghijklmnpqrsvwxyz"

/** A distinct, well-formed 32-character hash part for `i`. */
export const hashPart = (i: number): string => {
  let s = ""
  for (let n = i; s.length < 32; n = Math.floor(n / 32)) s = nix32[n % 32] + s
  return s
}

/**
 * An export stream of `count` small files; with `chained`, each refers to the
 * one before (references first, as an export orders them).
 */
export const chainStream = (count: number, chained = true): { stream: Uint8Array; paths: ReadonlyArray<string> } => {
  const paths = Array.from({ length: count }, (_, i) => `/nix/store/${hashPart(i + 1)}-p${i}`)
  const stream = encodeExport(paths.map((p, i) => ({
    nar: encodeNar({ _tag: "Regular", executable: false, contents: `file ${i}\n` }),
    trailer: { path: p, references: i === 0 || !chained ? [] : [paths[i - 1] as string], deriver: undefined }
  })))
  return { stream, paths }
}
