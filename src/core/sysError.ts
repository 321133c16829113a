/**
 * System-call failures in Nix's words: Nix prints `strerror(errno)` ("No such
 * file or directory"), Node an error code and its own text ("ENOENT: no such
 * file or directory, lstat '/x'"). This module turns the latter into the
 * former, so no Node error text reaches an error line.
 *
 * Pure.
 *
 * @since 0.1.0
 */

/** glibc's `strerror` text for the errno codes a store operation can meet. */
const strerrors: Readonly<Record<string, string>> = {
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  EIO: "Input/output error",
  EBADF: "Bad file descriptor",
  EAGAIN: "Resource temporarily unavailable",
  ENOMEM: "Cannot allocate memory",
  EACCES: "Permission denied",
  EBUSY: "Device or resource busy",
  EEXIST: "File exists",
  EXDEV: "Invalid cross-device link",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  EINVAL: "Invalid argument",
  ENFILE: "Too many open files in system",
  EMFILE: "Too many open files",
  ETXTBSY: "Text file busy",
  EFBIG: "File too large",
  ENOSPC: "No space left on device",
  ESPIPE: "Illegal seek",
  EROFS: "Read-only file system",
  EMLINK: "Too many links",
  EPIPE: "Broken pipe",
  ENAMETOOLONG: "File name too long",
  ENOTEMPTY: "Directory not empty",
  ELOOP: "Too many levels of symbolic links",
  EDQUOT: "Disk quota exceeded",
  ENOTSUP: "Operation not supported",
  EOPNOTSUPP: "Operation not supported"
}

/** The `strerror` text of an errno code (`ENOENT` → "No such file or directory"), if known. */
export const strerror = (code: string): string | undefined => strerrors[code]

/** The errno code of a Node system error (`{ code: "ENOENT" }`), if it has one. */
export const errnoCode = (cause: unknown): string | undefined => {
  if (typeof cause !== "object" || cause === null || !("code" in cause)) return undefined
  const code = (cause as { code?: unknown }).code
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined
}

/**
 * What Nix would print after `OPERATION 'PATH': ` for this failure: the
 * `strerror` text of a system error, else the error's own message with any
 * Node errno text replaced.
 */
export const sysErrorText = (cause: unknown): string => {
  const code = errnoCode(cause)
  const known = code === undefined ? undefined : strerror(code)
  if (known !== undefined) return known
  if (cause instanceof Error) return withoutNodeErrnoText(cause.message)
  if (typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string") {
    return withoutNodeErrnoText(cause.message)
  }
  return String(cause)
}

/** Node's `CODE: text, syscall 'path'` (and `-> 'dest'`) wording; the path may be absent. */
const nodeErrno = /\b(E[A-Z0-9]+): [^,']*, ([a-z_]+)(?: '([^']*)'(?: -> '[^']*')?)?/g

/**
 * Replaces Node's errno wording inside a message (`ENOENT: no such file or
 * directory, lstat '/x'`) with Nix's (`getting status of '/x': No such file
 * or directory` for lstat/stat, `OPERATION '/x': TEXT` otherwise, the bare
 * text when Node names no path: `EBADF: bad file descriptor, write`).
 */
export const withoutNodeErrnoText = (message: string): string =>
  message.replace(nodeErrno, (all, code: string, syscall: string, p: string | undefined) => {
    const text = strerror(code)
    if (text === undefined) return all
    return p === undefined ? text : `${syscallOperation(syscall)} '${p}': ${text}`
  })

/** Nix's wording for the operation a system call stands for. */
const syscallOperation = (syscall: string): string => {
  switch (syscall) {
    case "lstat":
    case "stat":
      return "getting status of"
    case "open":
      return "opening file"
    case "scandir":
    case "opendir":
      return "opening directory"
    case "readlink":
      return "reading symbolic link"
    case "read":
      return "reading file"
    case "mkdir":
      return "creating directory"
    case "unlink":
    case "rmdir":
    case "rm":
      return "removing"
    case "rename":
      return "renaming"
    case "symlink":
      return "creating symlink"
    case "chmod":
      return "changing mode of"
    default:
      return syscall
  }
}
