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

/** The references among the items contain a cycle. */
export class ReferenceCycleError extends Data.TaggedError("ReferenceCycleError")<{
  readonly path: string
  readonly parent: string
}> {
  override get message() {
    return `cycle detected in the references of '${this.parent}' from '${this.path}'`
  }
}

/**
 * Sorts `items` so that every path comes before the paths it references.
 * Iterative (no recursion limit on long reference chains).
 */
export const topoSortPaths = (
  items: ReadonlyArray<string>,
  referencesOf: (path: string) => ReadonlyArray<string>
): Either.Either<Array<string>, ReferenceCycleError> => {
  const set = new Set(items)
  const order = [...set].sort()
  const visited = new Set<string>()
  const onStack = new Set<string>()
  const postOrder: Array<string> = []
  for (const root of order) {
    if (visited.has(root)) continue
    visited.add(root)
    onStack.add(root)
    const stack: Array<{ path: string; children: Array<string>; next: number }> = [
      { path: root, children: [...referencesOf(root)].sort(), next: 0 }
    ]
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      if (top.next < top.children.length) {
        const child = top.children[top.next++]!
        if (child === top.path || !set.has(child)) continue
        if (onStack.has(child)) return Either.left(new ReferenceCycleError({ path: child, parent: top.path }))
        if (visited.has(child)) continue
        visited.add(child)
        onStack.add(child)
        stack.push({ path: child, children: [...referencesOf(child)].sort(), next: 0 })
      } else {
        postOrder.push(top.path)
        onStack.delete(top.path)
        stack.pop()
      }
    }
  }
  return Either.right(postOrder.reverse())
}
