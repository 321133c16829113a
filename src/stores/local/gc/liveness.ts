/**
 * Pure pieces of the collector's liveness analysis: classifying store
 * directory entries, the deletion order, and explaining why a path is alive.
 *
 * Liveness itself follows Nix 2.8: the live set is the closure of the roots
 * under references, plus, with `keep-outputs`, the valid outputs of every live
 * derivation and, with `keep-derivations`, the valid deriver of every live
 * path (both applied transitively, so with both set a live output keeps its
 * derivation alive, which keeps its other outputs alive). Temporary roots are
 * matched by hash part, so `<hash>-name.lock` of a path being built is kept.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { compareStrings, topoSort } from "../../../core/topoSort.js"
import type { CycleError } from "../../../core/topoSort.js"
import { hashPartLength, parseStorePathBaseName } from "../../../core/storePath.js"
import { displayPath, isUtf8, pathBytes } from "../../../io/fsOps.js"
import { tempPathOwner } from "../ops/tempPath.js"
import type { ChainStep, LiveEdge, WhyAlive } from "../../../services/GcStore.js"

/** The hash part of a logical store path (`/nix/store/<hash>-name` → `<hash>`). */
export const hashPartOf = (storeDir: string, storePath: string): string =>
  storePath.slice(storeDir.length + 1, storeDir.length + 1 + hashPartLength)

/** The entries of the real store directory, sorted into kinds. */
export interface StoreEntries {
  /** Entries whose name parses as a store path, as logical paths. */
  readonly storePaths: ReadonlyArray<string>
  /**
   * Temporary entries with their owner's pid: tsnix's (`<hash>-tsnix-tmp-<pid>-…`,
   * formerly `.tsnix-tmp-<pid>-…`) and Nix 2.8's (see {@link nixTempOwner}).
   * Kept while the owner lives.
   */
  readonly tempEntries: ReadonlyArray<{ readonly name: string; readonly pid: number }>
  /** Other names (garbage to Nix 2.8, except `.links`). */
  readonly others: ReadonlyArray<string>
  /** Names that are not valid UTF-8, kept as bytes (garbage too: no store path has such a name). */
  readonly undecodable: ReadonlyArray<Buffer>
}

/**
 * The pid that owns a temporary entry Nix 2.8 creates in the store directory
 * while it works, if `name` is one: `add-<pid>-<n>` (addToStore of a source
 * larger than the NAR buffer) and `.tmp-link-<pid>-<n>` (optimise's temporary
 * hard links). Nix's own collector deletes them like any other name that is
 * not a store path; tsnix's keeps them while their creator lives, so that a
 * running `nix-store --add` does not register a half-deleted copy.
 */
export const nixTempOwner = (name: string): number | undefined => {
  const m = /^(?:add|\.tmp-link)-([0-9]+)-[0-9]+$/.exec(name)
  if (m === null) return undefined
  const pid = Number.parseInt(m[1] as string, 10)
  return Number.isSafeInteger(pid) ? pid : undefined
}

/**
 * Sorts the names found in the real store directory (`.`/`..`/`.links`
 * ignored). Names may be given as bytes: those that are valid UTF-8 are
 * decoded, the others are kept as bytes in `undecodable`.
 */
export const classifyEntries = (storeDir: string, names: Iterable<string | Uint8Array>): StoreEntries => {
  const storePaths: Array<string> = []
  const tempEntries: Array<{ name: string; pid: number }> = []
  const others: Array<string> = []
  const undecodable: Array<Buffer> = []
  for (const raw of names) {
    const name = typeof raw === "string" ? raw : displayPath(raw)
    // Decoding marks every invalid sequence with U+FFFD: only then is the check needed.
    if (typeof raw !== "string" && name.includes("\ufffd") && !isUtf8(raw)) {
      undecodable.push(pathBytes(raw))
      continue
    }
    if (name === "." || name === ".." || name === ".links") continue
    const pid = tempPathOwner(name) ?? nixTempOwner(name)
    if (pid !== undefined) tempEntries.push({ name, pid })
    else if (Either.isRight(parseStorePathBaseName(name))) storePaths.push(`${storeDir}/${name}`)
    else others.push(name)
  }
  return { storePaths, tempEntries, others, undecodable }
}

/**
 * The order to delete `paths` in: every path before the paths it refers to
 * (referrers first), so the database never holds a dangling reference.
 */
export const deletionOrder = (
  paths: Iterable<string>,
  references: (path: string) => ReadonlyArray<string>
): Either.Either<Array<string>, CycleError> => topoSort(paths, references)

export type { ChainStep, LiveEdge, WhyAlive } from "../../../services/GcStore.js"

/**
 * A shortest chain from a root to `target` following `edges` (breadth-first,
 * roots and edges in sorted order, so the answer is deterministic), or
 * undefined when `target` is not reachable.
 */
export const findChain = (
  roots: ReadonlyMap<string, ReadonlySet<string>>,
  target: string,
  edges: (path: string) => ReadonlyArray<{ readonly to: string; readonly via: LiveEdge }>
): WhyAlive | undefined => {
  const parent = new Map<string, { from: string; via: LiveEdge } | null>()
  const queue: Array<string> = []
  for (const r of [...roots.keys()].sort(compareStrings)) {
    parent.set(r, null)
    queue.push(r)
  }
  for (let i = 0; i < queue.length; i++) {
    const p = queue[i] as string
    if (p === target) break
    const next = [...edges(p)].sort((a, b) => compareStrings(a.to, b.to))
    for (const e of next) {
      if (parent.has(e.to)) continue
      parent.set(e.to, { from: p, via: e.via })
      queue.push(e.to)
    }
  }
  if (!parent.has(target)) return undefined
  const chain: Array<ChainStep> = []
  let cur = target
  for (;;) {
    const par = parent.get(cur)
    if (par === null || par === undefined) {
      chain.push({ path: cur, via: "root" })
      break
    }
    chain.push({ path: cur, via: par.via })
    cur = par.from
  }
  chain.reverse()
  const root = chain[0]?.path ?? target
  return { root, links: [...(roots.get(root) ?? [])].sort(compareStrings), chain }
}
