/**
 * Signature checks of path infos (Nix's `ValidPathInfo::checkSignatures` and
 * `LocalStore::pathInfoIsUntrusted`): ed25519 signatures `name:base64` of
 * the info's fingerprint, against `trusted-public-keys` (`name:base64`).
 *
 * @since 0.1.0
 */
import { Either, Option } from "effect"
import { createPublicKey, type KeyObject, verify } from "node:crypto"
import { fingerprint, type ValidPathInfo } from "../core/pathInfo.js"
import { makeContentAddressedPath, storePathToString } from "../core/storePath.js"

/** Public keys by name. */
export type PublicKeys = ReadonlyMap<string, KeyObject>

const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex")

/** Parses `trusted-public-keys` (space-separated `name:base64`); malformed keys are skipped. */
export const parsePublicKeys = (text: string): PublicKeys => {
  const keys = new Map<string, KeyObject>()
  for (const k of text.split(/\s+/).filter((s) => s !== "")) {
    const colon = k.indexOf(":")
    if (colon <= 0) continue
    const raw = Buffer.from(k.slice(colon + 1), "base64")
    if (raw.length !== 32) continue
    try {
      keys.set(
        k.slice(0, colon),
        createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" })
      )
    } catch {
      // not a key: skipped, as Nix ignores what it cannot use
    }
  }
  return keys
}

/** The number of the info's signatures that a trusted key verifies. */
export const validSignatures = (info: ValidPathInfo, keys: PublicKeys): number => {
  const fp = fingerprint(info)
  if (Either.isLeft(fp)) return 0
  const data = Buffer.from(fp.right)
  let n = 0
  for (const sig of info.sigs) {
    const colon = sig.indexOf(":")
    const key = colon > 0 ? keys.get(sig.slice(0, colon)) : undefined
    if (key === undefined) continue
    const bytes = Buffer.from(sig.slice(colon + 1), "base64")
    if (bytes.length === 64 && verify(null, data, key, bytes)) n++
  }
  return n
}

/** True when the info's content address implies its path (Nix's `isContentAddressed`). */
export const isContentAddressed = (storeDir: string, info: ValidPathInfo): boolean => {
  if (Option.isNone(info.ca)) return false
  const name = info.path.slice(storeDir.length + 1 + 33)
  const self = info.references.includes(info.path)
  const refs = info.references.filter((r) => r !== info.path)
  try {
    return storePathToString(storeDir, makeContentAddressedPath(storeDir, name, info.ca.value, refs, self)) ===
      info.path
  } catch {
    return false
  }
}

/** Nix's pathInfoIsUntrusted: require-sigs is on, the path is not content-addressed and no trusted key signed it. */
export const pathInfoIsUntrusted = (
  storeDir: string,
  info: ValidPathInfo,
  settings: { readonly requireSigs: boolean; readonly publicKeys: PublicKeys }
): boolean =>
  settings.requireSigs && !isContentAddressed(storeDir, info) && validSignatures(info, settings.publicKeys) === 0
