/**
 * The daemon's own settings (Nix 2.8 names): who may connect and who is
 * trusted, and how imported paths are checked. Read from the same
 * assignments as the other settings (NIX_CONFIG, `--option`).
 *
 * @since 0.1.0
 */
import type { ConfAssignment } from "../config/nixConf.js"
import { parsePublicKeys, type PublicKeys } from "./signatures.js"

/** The daemon's settings. */
export interface DaemonSettings {
  /** `trusted-users` (default `root`): names, `@group`, `*`. */
  readonly trustedUsers: ReadonlyArray<string>
  /** `allowed-users` (default `*`). */
  readonly allowedUsers: ReadonlyArray<string>
  /** `require-sigs` (default true). */
  readonly requireSigs: boolean
  /** `trusted-public-keys`. */
  readonly publicKeys: PublicKeys
  /** `build-users-group` (members' primary group is let in, as Nix). */
  readonly buildUsersGroup: string
  /** `substituters` ∪ `trusted-substituters` (what an untrusted client may name). */
  readonly trustedSubstituters: ReadonlyArray<string>
}

const words = (s: string) => s.split(/\s+/).filter((w) => w !== "")

/** Resolves the daemon's settings from assignments (later ones win; `extra-` appends). */
export const daemonSettings = (assignments: Iterable<ConfAssignment>): DaemonSettings => {
  const text = new Map<string, string>([
    ["trusted-users", "root"],
    ["allowed-users", "*"],
    ["require-sigs", "true"],
    ["trusted-public-keys", "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="],
    ["build-users-group", ""],
    ["substituters", ""],
    ["trusted-substituters", ""]
  ])
  for (const a of assignments) {
    if (!text.has(a.name)) continue
    text.set(a.name, a.append ? `${text.get(a.name) ?? ""} ${a.value}` : a.value)
  }
  const get = (k: string) => text.get(k) ?? ""
  return {
    trustedUsers: words(get("trusted-users")),
    allowedUsers: words(get("allowed-users")),
    requireSigs: get("require-sigs").trim() !== "false",
    publicKeys: parsePublicKeys(get("trusted-public-keys")),
    buildUsersGroup: get("build-users-group").trim(),
    trustedSubstituters: [...words(get("substituters")), ...words(get("trusted-substituters"))]
  }
}
