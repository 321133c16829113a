/**
 * Copying paths between any two stores (Nix's `copyPaths`, `nix copy`): the
 * closure of the paths in the source, less what the destination already has,
 * in dependency order (a path starts once the paths it refers to are in), a
 * few at a time. Each path is streamed from `narFromPath` into the
 * destination's `addToStoreNar` (all of them in one `addMultipleToStore` when the destination
 * has it: a daemon), which checks the NAR against the info; with
 * `checkSigs` a path needs a trusted signature (or a content address that
 * holds) first, else it fails with Nix's "lacks a valid signature" and is not
 * added. A failure stops the copy with the paths already copied valid and
 * complete (their references were copied before them), nothing half-added.
 *
 * @since 0.1.0
 */
import { Data, Deferred, Effect, Either, Option, Stream } from "effect"
import type { PublicKeys } from "../../core/cache/signing.js"
import { checkSignatures } from "../../core/cache/signing.js"
import { PathNotValidError } from "../../services/errors/database.js"
import type { StoreShape } from "../../services/Store.js"

/** A path from elsewhere has no signature by a trusted key (Nix's wording). */
export class MissingSignatureError extends Data.TaggedError("MissingSignatureError")<{ readonly path: string }> {
  override get message(): string {
    return `cannot add path '${this.path}' because it lacks a valid signature`
  }
}

/** How to copy. */
export interface CopyOptions {
  /** Require a trusted signature (or a content address) on every path added (default false). */
  readonly checkSigs?: boolean | undefined
  /** The trusted keys, when checkSigs. */
  readonly publicKeys?: PublicKeys | undefined
  /** Paths copied at once (default 4). */
  readonly concurrency?: number | undefined
  /** Called before each path is copied, with its position among the missing paths. */
  readonly onStart?: ((path: string, index: number, total: number) => Effect.Effect<void>) | undefined
  /** Called after each path is copied. */
  readonly onDone?: ((path: string, done: number, total: number) => Effect.Effect<void>) | undefined
}

/** What a copy did. */
export interface CopyResult {
  /** The closure of the requested paths. */
  readonly closure: ReadonlyArray<string>
  /** The paths copied, references first. */
  readonly copied: ReadonlyArray<string>
}

/** The paths of `closure` that `dst` lacks, references first (Nix's order: reversed topological sort). */
export const missingInOrder = (src: StoreShape, dst: StoreShape, closure: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const present = new Set(yield* dst.queryValidPaths(closure))
    const missing = closure.filter((p) => !present.has(p))
    return [...(yield* src.topoSortPaths(missing))].reverse()
  })

/** Copies the closure of `paths` from `src` to `dst` (see the module documentation). */
export const copyClosure = (
  src: StoreShape,
  dst: StoreShape,
  paths: ReadonlyArray<string>,
  options: CopyOptions = {}
) =>
  Effect.gen(function*() {
    const closure = yield* src.computeClosure(paths)
    const order = yield* missingInOrder(src, dst, closure)
    const total = order.length
    const addMultiple = dst.addMultipleToStore
    if (addMultiple !== undefined && total > 1) {
      // One request for all of them (a daemon's AddMultipleToStore, as Nix's copyPaths sends it):
      // the infos first (and their signatures checked), then the NARs streamed in order.
      const items = []
      for (const [index, p] of order.entries()) {
        const got = yield* src.queryPathInfo(p)
        if (Option.isNone(got)) return yield* new PathNotValidError({ path: p })
        const info = got.value
        if (options.checkSigs === true) {
          const good = checkSignatures(dst.storeDir, info, options.publicKeys ?? new Map())
          if (Either.isLeft(good) || good.right < 1) return yield* new MissingSignatureError({ path: p })
        }
        const started = options.onStart === undefined ? Effect.void : options.onStart(p, index, total)
        const finished = options.onDone === undefined ? Effect.void : options.onDone(p, index + 1, total)
        const nar = Stream.concat(
          Stream.unwrap(Effect.as(started, src.narFromPath(p))),
          Stream.drain(Stream.fromEffect(finished))
        )
        items.push({ info: { ...info, registrationTime: 0, ultimate: false }, nar })
      }
      yield* addMultiple(items)
      return { closure, copied: order } satisfies CopyResult
    }
    const done = new Map<string, Deferred.Deferred<void>>()
    for (const p of order) done.set(p, yield* Deferred.make<void>())
    let finished = 0
    const copyOne = (p: string, index: number) =>
      Effect.gen(function*() {
        const got = yield* src.queryPathInfo(p)
        if (Option.isNone(got)) return yield* new PathNotValidError({ path: p })
        const info = got.value
        for (const r of info.references) {
          const d = done.get(r)
          if (d !== undefined && r !== p) yield* Deferred.await(d)
        }
        if (options.checkSigs === true) {
          const good = checkSignatures(dst.storeDir, info, options.publicKeys ?? new Map())
          if (Either.isLeft(good) || good.right < 1) return yield* new MissingSignatureError({ path: p })
        }
        if (options.onStart !== undefined) yield* options.onStart(p, index, total)
        yield* dst.addToStoreNar({ ...info, registrationTime: 0, ultimate: false }, src.narFromPath(p))
        finished++
        if (options.onDone !== undefined) yield* options.onDone(p, finished, total)
        yield* Deferred.succeed(done.get(p)!, undefined)
      })
    yield* Effect.forEach(order, copyOne, { concurrency: options.concurrency ?? 4, discard: true })
    return { closure, copied: order } satisfies CopyResult
  })
