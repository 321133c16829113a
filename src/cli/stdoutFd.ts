/**
 * A blocking descriptor for standard output, for commands that write large
 * byte streams straight to it (`--dump`, from the dump worker thread).
 *
 * Node makes standard output non-blocking when it is a pipe (its stream is
 * opened at start-up), so a thread writing to descriptor 1 with blocking
 * semantics would meet EAGAIN. A pipe (or a device such as /dev/null) is
 * opened anew through `/proc/self/fd/1`: a new open file description of the
 * same pipe, blocking. A regular file is written through descriptor 1 itself
 * (its offset and O_APPEND are the shell's; blocking does not apply to files).
 * Anything else (a terminal, a socket, no /proc) keeps Node's stream.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import type { Scope } from "effect"

/**
 * The descriptor to write standard output through, closed with the scope if
 * it was opened here; None when Node's stream should be used.
 */
export const blockingStdoutFd: Effect.Effect<Option.Option<number>, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync((): { readonly fd: number; readonly opened: boolean } | undefined => {
    try {
      const st = fs.fstatSync(1)
      if (st.isFile()) return { fd: 1, opened: false }
      if (process.platform !== "linux" || !(st.isFIFO() || st.isCharacterDevice()) || process.stdout.isTTY) {
        return undefined
      }
      return { fd: fs.openSync("/proc/self/fd/1", fs.constants.O_WRONLY), opened: true }
    } catch {
      return undefined
    }
  }),
  (out) =>
    Effect.sync(() => {
      if (out?.opened === true) fs.closeSync(out.fd)
    })
).pipe(Effect.map((out) => Option.fromNullable(out?.fd)))
