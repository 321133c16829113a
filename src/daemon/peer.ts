/**
 * The peer credentials of a Unix socket connection (SO_PEERCRED: pid, uid,
 * gid). Node has no API for them; tsnix calls `getsockopt(2)` on the socket's
 * descriptor through koffi, a maintained FFI package with prebuilt binaries
 * for Linux (loaded on first use; when it cannot load, the peer is unknown
 * and only `*` patterns match it).
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import type * as net from "node:net"

/** The credentials of a socket's peer. */
export interface PeerCred {
  readonly pid: number
  readonly uid: number
  readonly gid: number
}

const SOL_SOCKET = 1
const SO_PEERCRED = 17

type Getsockopt = (fd: number, level: number, name: number, buf: Buffer, len: Array<number>) => number
let getsockopt: Getsockopt | null | undefined

const load = (): Getsockopt | null => {
  if (getsockopt !== undefined) return getsockopt
  try {
    const require = createRequire(import.meta.url)
    // koffi's types are its own; the call below is checked by its declaration string.
    const koffi = require("koffi") as {
      load: (lib: string) => { func: (decl: string) => (...args: Array<unknown>) => number }
    }
    const libc = koffi.load("libc.so.6")
    const f = libc.func("int getsockopt(int fd, int level, int name, _Out_ uint8_t *buf, _Inout_ uint32_t *len)")
    getsockopt = (fd, level, name, buf, len) => f(fd, level, name, buf, len)
  } catch {
    getsockopt = null
  }
  return getsockopt
}

/** The descriptor of a connected socket (Node keeps it in its handle). */
const socketFd = (socket: net.Socket): number | undefined => {
  const handle: unknown = (socket as unknown as { _handle?: unknown })._handle
  if (
    typeof handle === "object" && handle !== null && "fd" in handle && typeof handle.fd === "number" && handle.fd >= 0
  ) {
    return handle.fd
  }
  return undefined
}

/** The peer's credentials, or undefined when they cannot be read. */
export const peerCred = (socket: net.Socket): PeerCred | undefined => {
  const f = load()
  const fd = socketFd(socket)
  if (f === null || fd === undefined) return undefined
  const buf = Buffer.alloc(12)
  const len = [12]
  if (f(fd, SOL_SOCKET, SO_PEERCRED, buf, len) !== 0) return undefined
  return { pid: buf.readInt32LE(0), uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) }
}
