/**
 * The format of Nix's temporary-roots files (`<state>/temproots/<pid>`): the
 * store paths, each followed by a NUL byte. Pure; no I/O.
 *
 * @since 0.1.0
 */

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The bytes appended to a temp-roots file for `storePath`: the path and a NUL. */
export const encodeTempRoot = (storePath: string): Uint8Array => encoder.encode(storePath + "\0")

/**
 * The roots in the content of a temp-roots file: every NUL-terminated string.
 * A trailing fragment without its NUL (a write in progress) is ignored, as Nix
 * does; so is an empty string.
 */
export const parseTempRoots = (content: Uint8Array): ReadonlyArray<string> => {
  const roots: Array<string> = []
  let start = 0
  for (let i = 0; i < content.length; i++) {
    if (content[i] === 0) {
      if (i > start) roots.push(decoder.decode(content.subarray(start, i)))
      start = i + 1
    }
  }
  return roots
}
