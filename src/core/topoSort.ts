/**
 * Nix's topological sort of store paths (pure).
 *
 * Same algorithm as Nix 2.8's `topoSort`: depth-first over the items in sorted
 * order, each item's references in sorted order (self-references and paths
 * outside the set ignored), post-order, then reversed. The result lists
 * referrers before their references; `nix-store -qR` and
 * `--referrers-closure` print it backwards.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"

/** Byte-order comparison of two ASCII strings, as C++'s std::string `<` (store paths are ASCII). */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The references among the items contain a cycle: `parent` refers to `path`,
 * which (transitively) refers back to `parent`. Nix 2.8's wording.
 */
export class ReferenceCycleError extends Data.TaggedError("ReferenceCycleError")<{
  readonly path: string
  readonly parent: string
}> {
  override get message() {
    return `cycle detected in the references of '${this.path}' from '${this.parent}'`
  }
}

/**
 * A reference graph over items 0..n-1 numbered in path order, in compressed
 * form: the references of item i are `targets[offsets[i] .. offsets[i+1])`.
 */
export interface RankGraph {
  readonly n: number
  readonly offsets: Int32Array
  readonly targets: Int32Array
}

/** Builds a RankGraph from (referrer, reference) rank pairs; sorts each reference list. */
export const makeRankGraph = (n: number, from: ArrayLike<number>, to: ArrayLike<number>): RankGraph => {
  const offsets = new Int32Array(n + 1)
  for (let e = 0; e < from.length; e++) offsets[from[e]! + 1]!++
  for (let i = 0; i < n; i++) offsets[i + 1]! += offsets[i]!
  const fill = offsets.slice(0, n)
  const targets = new Int32Array(from.length)
  for (let e = 0; e < from.length; e++) targets[fill[from[e]!]!++] = to[e]!
  for (let i = 0; i < n; i++) targets.subarray(offsets[i]!, offsets[i + 1]!).sort()
  return { n, offsets, targets }
}

/** Options of {@link topoSortRanks}. */
export interface TopoSortOptions {
  /**
   * Ignore the edges that close a cycle (back edges of the depth-first search)
   * instead of failing: the order then respects every other edge. For a store
   * that already holds a cycle (the GC, `-qR`), never for registration.
   */
  readonly breakCycles?: boolean
}

/**
 * Nix's topological order of the ranks (referrers first), or the offending
 * pair [child, parent] when there is a cycle (unless `breakCycles`).
 * Iterative: no recursion limit.
 */
export const topoSortRanks = (
  g: RankGraph,
  options?: TopoSortOptions
): Either.Either<Int32Array, readonly [number, number]> => {
  const breakCycles = options?.breakCycles === true
  const state = new Uint8Array(g.n) // 0 new, 1 on stack, 2 done
  const stackNode = new Int32Array(g.n)
  const stackNext = new Int32Array(g.n)
  const post = new Int32Array(g.n)
  let postLen = 0
  for (let root = 0; root < g.n; root++) {
    if (state[root] !== 0) continue
    let sp = 0
    stackNode[0] = root
    stackNext[0] = g.offsets[root]!
    state[root] = 1
    while (sp >= 0) {
      const node = stackNode[sp]!
      const next = stackNext[sp]!
      if (next < g.offsets[node + 1]!) {
        stackNext[sp] = next + 1
        const child = g.targets[next]!
        if (child === node) continue
        if (state[child] === 1) {
          if (breakCycles) continue
          return Either.left([child, node] as const)
        }
        if (state[child] === 2) continue
        state[child] = 1
        sp++
        stackNode[sp] = child
        stackNext[sp] = g.offsets[child]!
      } else {
        post[postLen++] = node
        state[node] = 2
        sp--
      }
    }
  }
  return Either.right(post.reverse())
}

/** `items` deduplicated and sorted, and the graph of their references among themselves, by rank. */
const pathGraph = (items: Iterable<string>, referencesOf: (path: string) => ReadonlyArray<string>) => {
  const order = [...new Set(items)].sort(compareStrings)
  const rank = new Map(order.map((p, i) => [p, i] as const))
  const from: Array<number> = []
  const to: Array<number> = []
  order.forEach((p, i) => {
    for (const r of referencesOf(p)) {
      const j = rank.get(r)
      if (j !== undefined) {
        from.push(i)
        to.push(j)
      }
    }
  })
  return { order, graph: makeRankGraph(order.length, from, to) }
}

/**
 * Sorts `items` so that every path comes before the paths it references
 * (references outside `items` are ignored).
 */
export const topoSortPaths = (
  items: Iterable<string>,
  referencesOf: (path: string) => ReadonlyArray<string>
): Either.Either<Array<string>, ReferenceCycleError> => {
  const { graph, order } = pathGraph(items, referencesOf)
  return Either.map(
    Either.mapLeft(
      topoSortRanks(graph),
      ([child, parent]) => new ReferenceCycleError({ path: order[child]!, parent: order[parent]! })
    ),
    (ranks) => Array.from(ranks, (r) => order[r]!)
  )
}

/**
 * {@link topoSortPaths}, ignoring the edges that close a cycle (see
 * TopoSortOptions.breakCycles): never fails; a DAG gets Nix's order.
 */
export const topoSortPathsBreakingCycles = (
  items: Iterable<string>,
  referencesOf: (path: string) => ReadonlyArray<string>
): Array<string> => {
  const { graph, order } = pathGraph(items, referencesOf)
  const ranks = Either.getOrThrow(topoSortRanks(graph, { breakCycles: true }))
  return Array.from(ranks, (r) => order[r]!)
}

/** The error of a cycle among store paths (other than a self-reference). */
export type CycleError = ReferenceCycleError

/** Alias of {@link topoSortPaths}: `topoSort(items, referencesOf)`. */
export const topoSort = topoSortPaths
