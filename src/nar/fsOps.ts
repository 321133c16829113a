/**
 * Small file-system helpers on byte (Buffer) paths, shared by the NAR dumper
 * and restorer. Byte paths keep names that are not valid UTF-8 intact.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"

/** `close(2)`, as a promise. */
export const close = (fd: number): Promise<void> => new Promise((res, rej) => fs.close(fd, (e) => (e ? rej(e) : res())))

/** Removes a path recursively without following symlinks; a missing path is fine. */
export const rmTree = (p: Buffer): Promise<void> =>
  new Promise((res, rej) => fs.rm(p, { recursive: true, force: true, maxRetries: 2 }, (e) => (e ? rej(e) : res())))

/** `dir + "/" + name` on byte paths. */
export const joinBytes = (dir: Buffer, name: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(dir.length + 1 + name.length)
  dir.copy(out, 0)
  out[dir.length] = 0x2f
  out.set(name, dir.length + 1)
  return out
}
