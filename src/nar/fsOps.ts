/**
 * Thin promise wrappers over node:fs callbacks with byte (Buffer) paths, used
 * by the NAR dumper and restorer. Callback `fs` is a little cheaper per call
 * than `fs/promises` FileHandles, which matters for trees of many small files.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"

/** `lstat` (does not follow symlinks). */
export const lstat = (p: Buffer): Promise<fs.Stats> =>
  new Promise((res, rej) => fs.lstat(p, (e, st) => (e ? rej(e) : res(st))))

/** Directory entry names as bytes, unsorted. */
export const readdir = (p: Buffer): Promise<Array<Buffer>> =>
  new Promise((res, rej) => fs.readdir(p, { encoding: "buffer" }, (e, names) => (e ? rej(e) : res(names))))

/** A symlink's target as bytes. */
export const readlink = (p: Buffer): Promise<Buffer> =>
  new Promise((res, rej) => fs.readlink(p, { encoding: "buffer" }, (e, t) => (e ? rej(e) : res(t))))

/** `open(2)` with numeric flags. */
export const open = (p: Buffer, flags: number, mode?: number): Promise<number> =>
  new Promise((res, rej) => fs.open(p, flags, mode, (e, fd) => (e ? rej(e) : res(fd))))

/** `close(2)`. */
export const close = (fd: number): Promise<void> => new Promise((res, rej) => fs.close(fd, (e) => (e ? rej(e) : res())))

/** `pread(2)`: returns the number of bytes read (0 at end of file). */
export const read = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> =>
  new Promise((res, rej) => fs.read(fd, buf, offset, length, position, (e, n) => (e ? rej(e) : res(n))))

/** Writes all of `buf` at the current file position (loops over short writes). */
export const writeAll = async (fd: number, buf: Uint8Array): Promise<void> => {
  let off = 0
  while (off < buf.length) {
    const n = await new Promise<number>((res, rej) =>
      fs.write(fd, buf, off, buf.length - off, null, (e, w) => (e ? rej(e) : res(w)))
    )
    off += n
  }
}

/** `mkdir(2)` (fails if the path exists, never follows a symlink at the final component). */
export const mkdir = (p: Buffer, mode: number): Promise<void> =>
  new Promise((res, rej) => fs.mkdir(p, { mode }, (e) => (e ? rej(e) : res())))

/** `symlink(2)` (fails if the path exists). */
export const symlink = (target: Buffer, p: Buffer): Promise<void> =>
  new Promise((res, rej) => fs.symlink(target, p, (e) => (e ? rej(e) : res())))

/** Removes a path recursively without following symlinks; missing paths are fine. */
export const rmTree = (p: Buffer): Promise<void> =>
  new Promise((res, rej) =>
    fs.rm(p, { recursive: true, force: true, maxRetries: 2 }, (e) => (e ? rej(e) : res()))
  )

/** `path + "/" + name` on byte paths. */
export const joinBytes = (dir: Buffer, name: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(dir.length + 1 + name.length)
  dir.copy(out, 0)
  out[dir.length] = 0x2f
  out.set(name, dir.length + 1)
  return out
}
