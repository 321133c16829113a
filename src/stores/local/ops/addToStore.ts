/**
 * Adding content to the store: `addToStore` (a file system object, recursive
 * or flat, any hash algorithm) and `addTextToStore`.
 *
 * As Nix 2.8 does, under a temporary root and the destination's path lock:
 * the source is copied into a temporary name inside the store while it is
 * hashed (one pass), the destination path is computed from the hash, and if
 * it is already valid nothing more happens. Otherwise the copy is
 * canonicalised (mtime 1, read-only modes), renamed into place and registered
 * in one transaction. The canonicalising walk counts entries and bytes: if
 * the copy no longer holds what was written (something deleted part of it),
 * the add fails instead of registering content that differs from what it
 * hashed. Any failure or interruption leaves no temporary files and nothing
 * registered.
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { type Hash, type HashAlgo, hashBytes, makeHasher, printHashWithAlgo } from "../../../core/hash.js"
import {
  MAGIC_BYTES,
  regularHeaderLength,
  regularTrailerLength,
  writeRegularHeader,
  writeRegularTrailer
} from "../../../core/nar/encode.js"
import {
  makeFixedOutputPath,
  makeTextPath,
  renderContentAddress,
  storePathToString,
  validateStorePathName
} from "../../../core/storePath.js"
import { dumpPath } from "../../../io/dump.js"
import { makeNarHasher } from "../../../io/hash.js"
import { restorePath } from "../../../io/restore.js"
import { toRealPath } from "../../../core/storeLayout.js"
import type { PathRegistration } from "../../../services/StoreDb.js"
import { canonicaliseChecked, type TreeTally } from "./canonicalise.js"
import { removeTree } from "./removeTree.js"
import type { StoreParts } from "./context.js"
import { StoreIoError } from "../../../services/errors/store.js"
import { autoOptimise } from "./optimise.js"
import { scopedTempPath } from "./tempPath.js"

/** Options of {@link addToStore}. */
export interface AddOptions {
  readonly name?: string | undefined
  readonly method?: "flat" | "recursive" | undefined
  readonly algo?: HashAlgo | undefined
  /** Extra data to register with the path (e.g. the outputs of a `.drv`). */
  readonly derivationOutputs?: Readonly<Record<string, string>> | undefined
}

const io = (p: string, operation: string) => (cause: unknown) => new StoreIoError({ path: p, operation, cause })

/**
 * Moves a prepared, canonicalised temporary object to `storePath` and
 * registers it, unless the path became valid meanwhile. Holds a temporary
 * root and the path lock throughout.
 */
export const installPath = (
  parts: StoreParts,
  tempPath: string,
  registration: PathRegistration
) =>
  Effect.scoped(
    Effect.gen(function*() {
      const { db, layout, lock } = parts
      const storePath = registration.path
      yield* lock.addTempRoot(storePath)
      if (yield* db.isValidPath(storePath)) return
      const locks = yield* lock.lockPaths([storePath], { waitMessage: `waiting for lock on '${storePath}'...` })
      if (!(yield* db.isValidPath(storePath))) {
        const realPath = toRealPath(layout, storePath)
        // A leftover of an interrupted attempt (invalid, so nobody uses it).
        yield* removeTree(realPath)
        yield* Effect.tryPromise({ try: () => fs.rename(tempPath, realPath), catch: io(realPath, "renaming into") })
        // If optimising or registration fails or is interrupted, the files must go again.
        yield* autoOptimise(parts, realPath).pipe(
          Effect.zipRight(
            db.registerValidPaths([registration]).pipe(
              // One path, not valid before: only a self-reference is possible, and that is allowed.
              Effect.catchTag("ReferenceCycleError", (e) => Effect.die(e))
            )
          ),
          Effect.onError(() => Effect.ignore(removeTree(realPath)))
        )
      }
      yield* locks.setDeletion(true)
    })
  )

/**
 * The NAR framing around the contents of a regular file of `size` bytes (as
 * Nix's `dumpPath` writes it, with `executable` when the owner may execute
 * it): the NAR is `before`, the contents, `after`. Lets the NAR hash be
 * computed while the contents stream.
 */
const flatFileNarFraming = (size: number, executable: boolean) => {
  const header = new Uint8Array(MAGIC_BYTES.length + regularHeaderLength(executable))
  header.set(MAGIC_BYTES, 0)
  writeRegularHeader(header, MAGIC_BYTES.length, executable, size)
  const trailer = new Uint8Array(regularTrailerLength(size))
  writeRegularTrailer(trailer, 0, size)
  return { before: header, after: trailer }
}

/** Copies a file system object into the store and returns its store path. */
export const addToStore = (parts: StoreParts, srcPath: string, options: AddOptions = {}) =>
  Effect.scoped(
    Effect.gen(function*() {
      const { layout } = parts
      const method = options.method ?? "recursive"
      const algo = options.algo ?? "sha256"
      const name = yield* validateStorePathName(options.name ?? path.basename(path.resolve(srcPath)))
      const st = yield* Effect.tryPromise({ try: () => fs.lstat(srcPath), catch: io(srcPath, "getting status of") })
      const temp = yield* scopedTempPath(layout, parts.lock)
      let caHash: Hash
      let narHash: Uint8Array
      let narSize: number
      let written: TreeTally
      if (method === "recursive") {
        const caHasher = algo === "sha256" ? undefined : makeHasher(algo)
        const nar = dumpPath(srcPath).pipe(
          Stream.tap((chunk) => Effect.sync(() => caHasher?.update(chunk)))
        )
        const r = yield* restorePath(temp, nar)
        narHash = r.narHash
        narSize = r.narSize
        written = r
        caHash = caHasher === undefined ? { algo: "sha256", bytes: r.narHash } : caHasher.digest()
      } else {
        if (!st.isFile()) {
          return yield* new StoreIoError({
            path: srcPath,
            operation: "adding (flat, needs a regular file)",
            cause: new Error("not a regular file")
          })
        }
        // As Nix 2.8 (addToStoreSlow): the file goes in as its NAR, so it keeps its execute bit
        // (0555 once canonicalised) and the NAR hash covers it; the content hash is of the bytes only.
        const executable = (st.mode & 0o100) !== 0
        const caHasher = makeHasher(algo)
        const narHasher = makeNarHasher()
        const handle = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: async () => {
              const h = await fs.open(temp, "wx", 0o644)
              // Whatever the umask: canonicalising turns any execute bit into 0555.
              try {
                if (executable) await h.chmod(0o755)
              } catch (e) {
                await h.close().catch(() => undefined)
                throw e
              }
              return h
            },
            catch: io(temp, "creating")
          }),
          (h) => Effect.promise(() => h.close())
        )
        const framing = flatFileNarFraming(st.size, executable)
        narHasher.update(framing.before)
        let copied = 0
        yield* Stream.fromAsyncIterable(
          (yield* Effect.tryPromise({ try: () => fs.open(srcPath, "r"), catch: io(srcPath, "opening") }))
            .createReadStream({ highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>,
          io(srcPath, "reading")
        ).pipe(
          Stream.runForEach((chunk) =>
            Effect.tryPromise({
              try: async () => {
                caHasher.update(chunk)
                narHasher.update(chunk)
                copied += chunk.length
                await handle.write(chunk)
              },
              catch: io(temp, "writing")
            })
          )
        )
        if (copied !== st.size) {
          return yield* new StoreIoError({
            path: srcPath,
            operation: "reading",
            cause: new Error("the file changed size while it was being added")
          })
        }
        narHasher.update(framing.after)
        const r = narHasher.result()
        narHash = r.narHash
        narSize = r.narSize
        written = { entries: 1, bytes: copied }
        caHash = caHasher.digest()
      }
      const storePath = storePathToString(layout.storeDir, makeFixedOutputPath(layout.storeDir, name, method, caHash))
      yield* canonicaliseChecked(temp, written)
      yield* installPath(parts, temp, {
        path: storePath,
        narHash: printHashWithAlgo({ algo: "sha256", bytes: narHash }, "base16"),
        narSize,
        references: [],
        ca: renderContentAddress(method, caHash),
        ...(options.derivationOutputs ? { derivationOutputs: options.derivationOutputs } : {})
      })
      return storePath
    })
  ).pipe(Effect.withSpan("Store.addToStore", { attributes: { srcPath } }))

/** Adds `contents` as a text path (like `builtins.toFile` and `.drv` files) and returns its store path. */
export const addTextToStore = (
  parts: StoreParts,
  name: string,
  contents: Uint8Array | string,
  references: ReadonlyArray<string>,
  extra: { readonly derivationOutputs?: Readonly<Record<string, string>> | undefined } = {}
) =>
  Effect.scoped(
    Effect.gen(function*() {
      const { layout } = parts
      yield* validateStorePathName(name)
      const bytes = typeof contents === "string" ? new TextEncoder().encode(contents) : contents
      const hash = hashBytes("sha256", bytes)
      const refs = Array.from(new Set(references)).sort()
      const storePath = storePathToString(layout.storeDir, makeTextPath(layout.storeDir, name, hash, refs))
      // Root it first, as Nix does: a collector running meanwhile must not take it away.
      yield* parts.lock.addTempRoot(storePath)
      if (yield* parts.db.isValidPath(storePath)) return storePath
      const temp = yield* scopedTempPath(layout, parts.lock)
      yield* Effect.tryPromise({
        try: () => fs.writeFile(temp, bytes, { flag: "wx", mode: 0o644 }),
        catch: io(temp, "writing")
      })
      yield* canonicaliseChecked(temp, { entries: 1, bytes: bytes.length })
      const framing = flatFileNarFraming(bytes.length, false)
      const nar = makeNarHasher()
      for (const part of [framing.before, bytes, framing.after]) nar.update(part)
      const { narHash, narSize } = nar.result()
      yield* installPath(parts, temp, {
        path: storePath,
        narHash: printHashWithAlgo({ algo: "sha256", bytes: narHash }, "base16"),
        narSize,
        references: refs,
        ca: renderContentAddress("text", hash),
        ...(extra.derivationOutputs ? { derivationOutputs: extra.derivationOutputs } : {})
      })
      return storePath
    })
  ).pipe(Effect.withSpan("Store.addTextToStore", { attributes: { name } }))
