/**
 * The order in which Nix 2.8's `--verify` reports vanished paths ("path '…'
 * disappeared, …"): it walks the valid paths in sorted order and, at a
 * vanished path, first walks its referrers (sorted), reporting the path after
 * them. Only vanished paths are reported, so the order is the post-order of
 * that walk over the vanished paths and their vanished referrers.
 *
 * Pure.
 *
 * @since 0.1.0
 */
import { compareStrings } from "../../../core/topoSort.js"

/**
 * `vanished` in Nix's reporting order, given each vanished path's references
 * (a vanished path's vanished referrers are reported before it).
 */
export const nixVanishedOrder = (
  vanished: ReadonlyArray<string>,
  referencesOf: (path: string) => ReadonlyArray<string>
): Array<string> => {
  const sorted = [...new Set(vanished)].sort(compareStrings)
  const inSet = new Set(sorted)
  const referrers = new Map<string, Array<string>>()
  for (const p of sorted) {
    for (const r of referencesOf(p)) {
      if (r === p || !inSet.has(r)) continue
      const list = referrers.get(r)
      if (list === undefined) referrers.set(r, [p])
      else list.push(p)
    }
  }
  // Referrers were pushed in sorted order of the referrer: each list is sorted.
  const done = new Set<string>()
  const out: Array<string> = []
  for (const root of sorted) {
    if (done.has(root)) continue
    done.add(root)
    const stack: Array<{ readonly path: string; next: number }> = [{ path: root, next: 0 }]
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { readonly path: string; next: number }
      const list = referrers.get(top.path) ?? []
      if (top.next < list.length) {
        const r = list[top.next++] as string
        if (done.has(r)) continue
        done.add(r)
        stack.push({ path: r, next: 0 })
      } else {
        out.push(top.path)
        stack.pop()
      }
    }
  }
  return out
}
