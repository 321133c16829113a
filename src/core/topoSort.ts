/**
 * Nix's topological sort of store paths (`topoSortPaths`), exactly: a
 * depth-first post-order over the items in sorted order, visiting each item's
 * children (restricted to the item set, self-references skipped) in sorted
 * order, then reversed — so referrers come before their references. nix-store
 * prints `-q --requisites` and friends in the reverse of this order.
 *
 * Iterative (no recursion), so closures of any depth sort in bounded stack.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"

/** The graph has a cycle other than a self-reference (impossible for a valid store). */
export class CycleError extends Data.TaggedError("CycleError")<{ readonly path: string; readonly parent: string }> {
  override get message() {
    return `cycle detected in the references of '${this.parent}' from '${this.path}'`
  }
}

/** Byte-order comparison of two ASCII strings, as C++'s std::string `<`. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Sorts `items` (any order, no duplicates needed) so that every item comes
 * before the items it refers to. `children(i)` returns the references of `i`
 * (any order; those outside `items` and `i` itself are ignored).
 */
export const topoSort = (
  items: Iterable<string>,
  children: (item: string) => ReadonlyArray<string>
): Either.Either<Array<string>, CycleError> => {
  const sortedItems = Array.from(new Set(items)).sort(compareStrings)
  const inSet = new Set(sortedItems)
  const visited = new Set<string>()
  const onStack = new Set<string>()
  const post: Array<string> = []
  // Explicit DFS stack: [node, sorted children, next child index].
  const stack: Array<{ node: string; kids: Array<string>; next: number }> = []
  const enter = (node: string) => {
    visited.add(node)
    onStack.add(node)
    const kids = children(node).filter((k) => k !== node && inSet.has(k))
    kids.sort(compareStrings)
    stack.push({ node, kids, next: 0 })
  }
  for (const root of sortedItems) {
    if (visited.has(root)) continue
    enter(root)
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { node: string; kids: Array<string>; next: number }
      if (top.next < top.kids.length) {
        const kid = top.kids[top.next++] as string
        if (onStack.has(kid)) return Either.left(new CycleError({ path: kid, parent: top.node }))
        if (!visited.has(kid)) enter(kid)
      } else {
        stack.pop()
        onStack.delete(top.node)
        post.push(top.node)
      }
    }
  }
  return Either.right(post.reverse())
}
