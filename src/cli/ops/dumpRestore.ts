/**
 * `tsnix --dump PATH` and `tsnix --restore PATH`: NAR serialisation of any
 * file tree to standard output, and back from standard input.
 *
 * `--restore` refuses an existing PATH and, on bad input, exits 1 with the
 * reason and leaves nothing at PATH.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import * as fs from "node:fs/promises"
import { UsageError } from "../argv.js"
import { Cli } from "../context.js"
import { BrokenPipe, stdinStream } from "../io.js"
import { enlargeStdoutPipe } from "../pipeBuffer.js"
import type { Operation } from "../operation.js"
import { ArgumentStatError } from "../storePathArg.js"
import { inNixWords } from "../fsErrors.js"
import { blockingStdoutFd } from "../stdoutFd.js"
import { dumpPathToFd, dumpPathToWritable } from "../../io/dump.js"
import { restorePath } from "../../io/restore.js"

const onePath = (op: string) =>
  Effect.flatMap(Cli, ({ parsed }) =>
    parsed.args.length === 1 && parsed.args[0] !== undefined
      ? Effect.succeed(parsed.args[0])
      : Effect.fail(new UsageError({ message: `'--${op}' requires exactly one argument` })))

/** `--dump PATH`: the NAR of PATH on standard output. */
export const dumpOperation: Operation = Effect.gen(function*() {
  const path = yield* onePath("dump")
  // Nix names the argument as given: "getting status of 'x': No such file or directory".
  yield* Effect.tryPromise({ try: () => fs.lstat(path), catch: (cause) => new ArgumentStatError({ path, cause }) })
  yield* enlargeStdoutPipe
  // A file or pipe is written through a blocking descriptor, by the dump worker for a large tree
  // (no byte crosses back to this thread); a terminal or socket through Node's stream.
  const write = Effect.flatMap(
    blockingStdoutFd,
    Option.match({
      onNone: () => Effect.asVoid(dumpPathToWritable(path, () => process.stdout, { hash: false })),
      onSome: (fd) => Effect.asVoid(dumpPathToFd(path, fd))
    })
  )
  yield* Effect.scoped(write).pipe(
    inNixWords(false),
    // The reader went away (`tsnix --dump x | head`): stop quietly, as a pipe writer should.
    Effect.mapError((e) =>
      e._tag === "NarWriteError" && (e.cause as { code?: string } | undefined)?.code === "EPIPE" ? new BrokenPipe() : e
    )
  )
})

/** `--restore PATH`: unpack the NAR on standard input at PATH. */
export const restoreOperation: Operation = Effect.gen(function*() {
  const path = yield* onePath("restore")
  // As nix-store --restore, no hash of the archive: nothing would use it.
  yield* restorePath(path, stdinStream, { hash: false })
})
