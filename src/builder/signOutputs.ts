/**
 * `secret-key-files`, as Nix 2.8's `LocalStore::signPathInfo`: a locally
 * built output is signed, before it is registered, with each key file (read
 * at each signing, as Nix does), over the fingerprint
 * `1;PATH;sha256:NIX32;NARSIZE;REFS`. Nix 2.8 signs nowhere else in the
 * local store (not `--add`, not imports): built outputs, and outputs that
 * `--check` found reproducible while they were not `ultimate` yet.
 *
 * @since 0.1.0
 */
import { Data, Either, Option } from "effect"
import { Buffer } from "node:buffer"
import * as fs from "node:fs"
import { parseSecretKey, type SecretKey, signDetached } from "../core/cache/signing.js"
import { render as renderCa } from "../core/contentAddress.js"
import { printHash } from "../core/hash.js"
import type { ValidPathInfo } from "../core/pathInfo.js"
import type { PathRegistration } from "../services/StoreDb.js"

/** A key file that cannot be read or parsed. */
export class SigningError extends Data.TaggedError("SigningError")<{ readonly message: string }> {}

/** The fingerprint of a registration (`narHash` is `sha256:<base16>`). */
const fingerprintOf = (r: PathRegistration): string => {
  const hex = r.narHash.replace(/^sha256:/, "")
  const nix32 = printHash({ algo: "sha256", bytes: new Uint8Array(Buffer.from(hex, "hex")) }, "nix32")
  return `1;${r.path};sha256:${nix32};${r.narSize};${[...new Set(r.references)].sort().join(",")}`
}

/** The registrations with a signature of each key added (unchanged without key files). */
export const signRegistrations = (
  keyFiles: ReadonlyArray<string>,
  regs: ReadonlyArray<PathRegistration>
): ReadonlyArray<PathRegistration> | SigningError => {
  if (keyFiles.length === 0) return regs
  const keys: Array<SecretKey> = []
  for (const file of keyFiles) {
    let text: string
    try {
      text = fs.readFileSync(file, "utf8")
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      return new SigningError({
        message: `opening file '${file}': ${code === "ENOENT" ? "No such file or directory" : String(e)}`
      })
    }
    const k = parseSecretKey(text)
    if (Either.isLeft(k)) return new SigningError({ message: k.left.message })
    keys.push(k.right)
  }
  return regs.map((r) => ({
    ...r,
    sigs: [...new Set([...(r.sigs ?? []), ...keys.map((k) => signDetached(k, fingerprintOf(r)))])].sort()
  }))
}

/**
 * A valid path's info as a re-registration marking it `ultimate` (what `--check` does to an output it
 * found reproducible, before signing it: Nix's `oldInfo.ultimate = true`).
 */
export const verifiedRegistration = (info: ValidPathInfo): PathRegistration => ({
  path: info.path,
  narHash: "sha256:" + Buffer.from(info.narHash.bytes).toString("hex"),
  narSize: info.narSize,
  references: [...info.references],
  deriver: Option.getOrUndefined(info.deriver),
  registrationTime: info.registrationTime,
  ultimate: true,
  sigs: [...info.sigs],
  ca: Option.getOrUndefined(Option.map(info.ca, renderCa))
})
