/**
 * Which valid paths have no entry in the store directory: the first step of
 * `--verify`, on 100k paths and 100k directory entries.
 *
 * Both lists are walked once, in order: the valid paths come sorted from the
 * database, and sorting the directory's names (V8's sort on strings, which
 * differ in their first characters) costs less than hashing them into a Set
 * and looking each path up (~10 ms against ~100 ms for 100k here).
 *
 * @since 0.1.0
 */

/**
 * The paths (full store paths, in any order; sorted ones take the fast way)
 * whose name, after `prefixLength` characters, is not among `names`. The
 * result keeps the order of `paths`. `names` is sorted in place.
 */
export const missingPaths = (
  paths: ReadonlyArray<string>,
  prefixLength: number,
  names: Array<string>
): Array<string> => {
  for (let i = 1; i < paths.length; i++) {
    // Not sorted as `names` will be (UTF-16 code units): look each one up instead.
    if (paths[i - 1]! > paths[i]!) {
      const present = new Set(names)
      return paths.filter((p) => !present.has(p.slice(prefixLength)))
    }
  }
  names.sort()
  const missing: Array<string> = []
  let j = 0
  for (const p of paths) {
    const name = p.slice(prefixLength)
    while (j < names.length && names[j]! < name) j++
    if (names[j] !== name) missing.push(p)
  }
  return missing
}
