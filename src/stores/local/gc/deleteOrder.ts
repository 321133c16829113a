/**
 * The order in which Nix 2.8's `nix-store --delete` deletes (and prints
 * "deleting '…'" for) the paths it was given: for each given path in sorted
 * order, the paths reachable from it through referrers (and the keep-*
 * edges: a derivation's outputs, a path's derivers) that are not yet deleted,
 * in Nix's topological order (referrers first).
 *
 * Pure.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { compareStrings, topoSortPaths } from "../../../core/topoSort.js"

/** What the order needs to know about the paths being deleted (all valid). */
export interface DeleteGraph {
  /** The references of each path (others than the paths being deleted are ignored). */
  readonly referencesOf: (path: string) => ReadonlyArray<string>
  /** Extra edges Nix follows from a path (keep-derivations: outputs; keep-outputs: derivers). */
  readonly extraOf?: (path: string) => ReadonlyArray<string>
}

/**
 * Nix's deletion order of `paths` (every path that keeps one of them alive
 * must be among them, as `--delete` requires). Referrers come before their
 * references; a cycle (impossible among valid paths) falls back to sorted order.
 */
export const nixDeleteOrder = (paths: ReadonlyArray<string>, graph: DeleteGraph): Array<string> => {
  const sorted = [...new Set(paths)].sort(compareStrings)
  const inSet = new Set(sorted)
  const referrers = new Map<string, Array<string>>()
  for (const p of sorted) {
    for (const r of graph.referencesOf(p)) {
      if (r === p || !inSet.has(r)) continue
      const list = referrers.get(r)
      if (list === undefined) referrers.set(r, [p])
      else list.push(p)
    }
  }
  const dead = new Set<string>()
  const out: Array<string> = []
  for (const start of sorted) {
    if (dead.has(start)) continue
    const visited = new Set<string>([start])
    const todo = [start]
    while (todo.length > 0) {
      const p = todo.pop() as string
      if (dead.has(p)) continue
      for (const n of [...(referrers.get(p) ?? []), ...(graph.extraOf?.(p) ?? [])]) {
        if (!inSet.has(n) || visited.has(n)) continue
        visited.add(n)
        todo.push(n)
      }
    }
    const group = [...visited].filter((p) => !dead.has(p))
    const order = Either.getOrElse(topoSortPaths(group, graph.referencesOf), () => group.sort(compareStrings))
    for (const p of order) {
      dead.add(p)
      out.push(p)
    }
  }
  return out
}
