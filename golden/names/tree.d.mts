/** A node of tree.json: names, targets and contents are hex bytes. */
export type HexNode =
  | { readonly type: "regular"; readonly executable?: boolean; readonly contentsHex: string }
  | { readonly type: "symlink"; readonly targetHex: string }
  | { readonly type: "directory"; readonly entries: ReadonlyArray<{ readonly nameHex: string; readonly node: HexNode }> }
/** The parsed root node of tree.json. */
export declare const loadTree: () => HexNode
/** Creates `node` at byte or string path `p` (which must not exist). */
export declare const materialize: (p: string | Buffer, node: HexNode) => void
