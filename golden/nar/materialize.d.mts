/** A regular file, symlink or directory of trees.json. */
export type SpecNode =
  | { readonly type: "regular"; readonly executable?: boolean; readonly contents?: string; readonly size?: number }
  | { readonly type: "symlink"; readonly target: string }
  | {
      readonly type: "directory"
      readonly entries?: Readonly<Record<string, SpecNode>>
      readonly rawEntries?: ReadonlyArray<{ readonly nameHex: string; readonly node: SpecNode }>
    }
/** One named tree of trees.json. */
export interface SpecTree {
  readonly name: string
  readonly noNar?: boolean
  readonly root: SpecNode
}
/** Deterministic contents of a `size`-only regular file. */
export declare const patternBytes: (size: number) => Buffer
/** Contents of a regular-file spec node. */
export declare const regularContents: (node: { readonly contents?: string; readonly size?: number }) => Buffer
/** Creates the tree `node` at path `p` (which must not exist). */
export declare const materialize: (p: string | Buffer, node: SpecNode) => void
/** The parsed trees.json. */
export declare const loadTrees: () => ReadonlyArray<SpecTree>
