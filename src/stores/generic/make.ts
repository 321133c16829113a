/**
 * The generic store: the operations of the {@link Store} contract that can be
 * derived from its primitive queries, as Effect's `FileSystem.make` fills in
 * `exists` or `stream` from the primitives. Any store implementation may use
 * it (stores never import each other, but every store may import this
 * folder); the local store overrides both with its bulk SQL.
 *
 * @since 0.1.0
 */
import { Effect, Either } from "effect"
import { compareStrings, topoSortPaths } from "../../core/topoSort.js"
import { PathNotValidError } from "../../services/errors/database.js"
import type { ClosureError, StoreDerived, StorePrimitives, TopoSortError } from "../../services/Store.js"
import type { ClosureOptions } from "../../services/StoreDb.js"

const isDerivationPath = (p: string): boolean => p.endsWith(".drv")

/**
 * Nix's computeFSClosure from the primitives: the paths (which must be
 * valid) and everything reachable by references (or referrers), with the
 * valid outputs and derivers the options ask for; sorted.
 */
export const computeClosure =
  (store: StorePrimitives) =>
  (paths: ReadonlyArray<string>, options: ClosureOptions = {}): Effect.Effect<ReadonlyArray<string>, ClosureError> =>
    Effect.gen(function*() {
      const referrers = options.direction === "referrers"
      // Outputs of a derivation: with includeOutputs going down, with includeDerivers going up.
      const wantOutputs = referrers ? options.includeDerivers === true : options.includeOutputs === true
      // Derivers of a path: with includeDerivers going down, with includeOutputs going up (valid derivers).
      const wantDerivers = referrers ? options.includeOutputs === true : options.includeDerivers === true
      const seen = new Set<string>()
      const todo = [...new Set(paths)]
      for (const p of todo) {
        if (!(yield* store.isValidPath(p))) return yield* new PathNotValidError({ path: p })
      }
      for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
        if (seen.has(p)) continue
        seen.add(p)
        const next: Array<string> = [...(yield* (referrers ? store.queryReferrers(p) : store.queryReferences(p)))]
        if (wantOutputs && isDerivationPath(p)) {
          const outputs = Object.values(yield* store.queryDerivationOutputMap(p))
          next.push(...(yield* store.queryValidPaths(outputs)))
        }
        if (wantDerivers) {
          if (referrers) next.push(...(yield* store.queryValidDerivers(p)))
          else {
            const deriver = yield* store.queryDeriver(p)
            if (deriver._tag === "Some" && (yield* store.isValidPath(deriver.value))) next.push(deriver.value)
          }
        }
        for (const n of next) if (!seen.has(n)) todo.push(n)
      }
      return [...seen].sort(compareStrings)
    })

/** Nix's topoSortPaths from the primitives: referrers before references, ties by path; paths must be valid. */
export const topoSort =
  (store: StorePrimitives) => (paths: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>, TopoSortError> =>
    Effect.gen(function*() {
      const unique = [...new Set(paths)]
      const refs = new Map<string, ReadonlyArray<string>>()
      for (const p of unique) refs.set(p, yield* store.queryReferences(p))
      return yield* Either.match(topoSortPaths(unique, (p) => refs.get(p) ?? []), {
        onLeft: (e) => Effect.fail(e),
        onRight: (order) => Effect.succeed(order)
      })
    })

/**
 * A store's derived operations from its primitives; `overrides` replaces any
 * of them (the local store passes its SQL versions).
 */
export const makeDerived = (store: StorePrimitives, overrides: Partial<StoreDerived> = {}): StoreDerived => ({
  computeClosure: overrides.computeClosure ?? computeClosure(store),
  topoSortPaths: overrides.topoSortPaths ?? topoSort(store)
})

/** `primitives` with the derived operations filled in (or overridden). */
export const make = <S extends StorePrimitives>(
  primitives: S,
  overrides: Partial<StoreDerived> = {}
): S & StoreDerived => ({
  ...primitives,
  ...makeDerived(primitives, overrides)
})
