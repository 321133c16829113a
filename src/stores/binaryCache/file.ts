/**
 * The `file://` backend (Nix's LocalBinaryCacheStore): the cache is a
 * directory; `init` creates it with `nar/`, `realisations/` and `log/`;
 * every file is written to `<file>.tmp.<pid>.<n>` and renamed into place, so
 * a reader never sees half a file; a failed write leaves no temporary.
 *
 * @since 0.1.0
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Effect, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { type BinaryCacheBackend, BinaryCacheBackendError } from "./backend.js"

let tempCounter = 0

const errnoOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const detailOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** A backend over the directory `root` (absolute); `uri` names it in messages. */
export const makeFileBackend = (root: string, uri: string = `file://${root}`): BinaryCacheBackend => {
  const fail = (operation: BinaryCacheBackendError["operation"], p: string, cause: unknown) =>
    new BinaryCacheBackendError({ uri, path: p, operation, detail: detailOf(cause), cause })

  /** The absolute file of a cache path; a path that leaves the root is refused. */
  const resolve = (
    operation: BinaryCacheBackendError["operation"],
    p: string
  ): Effect.Effect<string, BinaryCacheBackendError> => {
    const abs = path.resolve(root, p)
    return p === "" || path.isAbsolute(p) || !abs.startsWith(root.endsWith("/") ? root : root + "/")
      ? Effect.fail(new BinaryCacheBackendError({ uri, path: p, operation, detail: "not a path inside the cache" }))
      : Effect.succeed(abs)
  }

  const init = Effect.tryPromise({
    try: async () => {
      for (const d of ["", "nar", "realisations", "log"]) {
        await fs.promises.mkdir(path.join(root, d), { recursive: true })
      }
    },
    catch: (e) => fail("init", root, e)
  })

  const fileExists = (p: string) =>
    Effect.flatMap(resolve("fileExists", p), (abs) =>
      Effect.tryPromise({
        try: () =>
          fs.promises.stat(abs).then(
            (st) => st.isFile(),
            (e: unknown) => {
              if (errnoOf(e) === "ENOENT" || errnoOf(e) === "ENOTDIR") return false
              throw e
            }
          ),
        catch: (e) => fail("fileExists", p, e)
      }))

  // Existence is decided by stat; the file is opened when the stream is run (and closed with it).
  const getFile = (p: string) =>
    Effect.flatMap(resolve("getFile", p), (abs) =>
      Effect.map(
        Effect.tryPromise({
          try: () =>
            fs.promises.stat(abs).then(
              (st) => st.isFile(),
              (e: unknown) => {
                if (errnoOf(e) === "ENOENT" || errnoOf(e) === "ENOTDIR") return false
                throw e
              }
            ),
          catch: (e) => fail("getFile", p, e)
        }),
        (exists) =>
          exists
            ? Option.some(
              NodeStream.fromReadable<BinaryCacheBackendError, Uint8Array>(
                () => fs.createReadStream(abs, { highWaterMark: 256 * 1024 }),
                (e) => fail("getFile", p, e)
              )
            )
            : Option.none()
      ))

  const upsertFile = <E>(p: string, data: Stream.Stream<Uint8Array, E>, _mimeType: string) =>
    Effect.flatMap(resolve("upsertFile", p), (abs) => {
      const tmp = `${abs}.tmp.${process.pid}.${tempCounter++}`
      const write = Effect.acquireUseRelease(
        Effect.tryPromise({
          try: async () => {
            await fs.promises.mkdir(path.dirname(abs), { recursive: true })
            return fs.promises.open(tmp, "wx", 0o644)
          },
          catch: (e) => fail("upsertFile", p, e)
        }),
        (fh) =>
          Stream.runForEach(
            data,
            (chunk) => Effect.tryPromise({ try: () => fh.write(chunk), catch: (e) => fail("upsertFile", p, e) })
          ),
        (fh) => Effect.promise(() => fh.close().catch(() => undefined))
      )
      return write.pipe(
        Effect.zipRight(
          Effect.tryPromise({ try: () => fs.promises.rename(tmp, abs), catch: (e) => fail("upsertFile", p, e) })
        ),
        Effect.onError(() => Effect.promise(() => fs.promises.rm(tmp, { force: true }).catch(() => undefined)))
      )
    })

  const listFiles = Effect.tryPromise({
    try: () => fs.promises.readdir(root),
    catch: (e) => fail("listFiles", root, e)
  })

  // The NARs the store writes are spooled in the cache's own directory and renamed into place:
  // one write of the compressed NAR instead of a write, a read and a second write.
  const adoptFile = (p: string, spooled: string) =>
    Effect.flatMap(resolve("upsertFile", p), (abs) =>
      Effect.tryPromise({
        try: async () => {
          await fs.promises.mkdir(path.dirname(abs), { recursive: true })
          await fs.promises.rename(spooled, abs)
        },
        catch: (e) => fail("upsertFile", p, e)
      }))

  return { uri, init, fileExists, getFile, upsertFile, listFiles, spoolDir: root, adoptFile }
}
