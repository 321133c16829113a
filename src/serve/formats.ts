/**
 * What the server needs from the binary cache formats: a path's narinfo
 * text (signed when a key is given), the nix-cache-info text, and NAR
 * compression. TEMPORARY: until the cache formats land (branch i15-cache),
 * only unsigned narinfos and uncompressed NARs.
 *
 * @since 0.1.0
 */
import { Option } from "effect"
import { printHashWithAlgo } from "../core/hash.js"
import type { ValidPathInfo } from "../core/pathInfo.js"
import { renderContentAddress } from "../core/storePath.js"
import { baseName } from "../core/storePathBrand.js"

/** The text of `nix-cache-info` for a store. */
export const cacheInfoText = (storeDir: string, priority: number): string =>
  `StoreDir: ${storeDir}\nWantMassQuery: 1\nPriority: ${priority}\n`

/** A path's narinfo, its NAR at `url` compressed with `compression` (no FileHash/FileSize: unknown). */
export const narInfoText = (info: ValidPathInfo, url: string, compression: string): string => {
  const lines = [
    `StorePath: ${info.path}`,
    `URL: ${url}`,
    `Compression: ${compression}`,
    ...(compression === "none"
      ? [`FileHash: ${printHashWithAlgo(info.narHash, "nix32")}`, `FileSize: ${info.narSize}`]
      : []),
    `NarHash: ${printHashWithAlgo(info.narHash, "nix32")}`,
    `NarSize: ${info.narSize}`,
    `References: ${info.references.map(baseName).join(" ")}`,
    ...Option.match(info.deriver, { onNone: () => [], onSome: (d) => [`Deriver: ${baseName(d)}`] }),
    ...[...info.sigs].sort().map((s) => `Sig: ${s}`),
    ...Option.match(info.ca, { onNone: () => [], onSome: (ca) => [`CA: ${renderContentAddress(ca.method, ca.hash)}`] })
  ]
  return lines.join("\n") + "\n"
}
