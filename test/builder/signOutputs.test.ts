/**
 * secret-key-files signing of registrations: each key signs the Nix fingerprint (verified with the
 * public key file Nix wrote), signatures are kept sorted and without repeats, no key files change
 * nothing, a missing key file is an error. Nix's own signatures of built outputs are compared in
 * features-golden.test.ts (cases signed, substA, subst-check).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { signRegistrations, SigningError } from "../../src/builder/signOutputs.js"
import { makePublicKeys, parsePublicKey, verifyDetached } from "../../src/core/cache/signing.js"
import type { PathRegistration } from "../../src/services/StoreDb.js"

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/build-features")
const keys = makePublicKeys(
  ["key.pub", "key2.pub"].map((f) => Either.getOrThrow(parsePublicKey(fs.readFileSync(path.join(dir, f), "utf8"))))
)
const reg: PathRegistration = {
  path: `/nix/store/${"a".repeat(32)}-x`,
  narHash: "sha256:" + "ab".repeat(32),
  narSize: 120,
  references: [`/nix/store/${"b".repeat(32)}-y`, `/nix/store/${"a".repeat(32)}-x`]
}

describe("signing built outputs", () => {
  it.effect("each key signs the fingerprint; the signatures verify, sorted, no repeats", () =>
    Effect.sync(() => {
      const files = [path.join(dir, "key2.sec"), path.join(dir, "key.sec")]
      const once = signRegistrations(files, [reg])
      if (once instanceof SigningError) throw new Error(once.message)
      const sigs = once[0]!.sigs!
      expect(sigs.map((s) => s.split(":")[0])).toEqual(["golden-test-1", "golden-test-2"])
      const twice = signRegistrations(files, once)
      if (twice instanceof SigningError) throw new Error(twice.message)
      expect(twice[0]!.sigs).toEqual(sigs)
      // The fingerprint: path, nix32 NAR hash, size, sorted references.
      const nix32 = "1axbmfmspaxbmfmspaxbmfmspaxbmfmspaxbmfmspaxbmfmspaxb" // nix-hash --type sha256 --to-base32 abab…
      const fingerprint = `1;${reg.path};sha256:${nix32};120;${[...reg.references].sort().join(",")}`
      for (const s of sigs) expect(Either.getOrThrow(verifyDetached(fingerprint, s, keys))).toBe(true)
    }))

  it.effect("no key files: unchanged; a missing one: an error naming it", () =>
    Effect.sync(() => {
      expect(signRegistrations([], [reg])).toEqual([reg])
      const e = signRegistrations(["/nonexistent/key.sec"], [reg])
      expect(e).toBeInstanceOf(SigningError)
      expect((e as SigningError).message).toBe("opening file '/nonexistent/key.sec': No such file or directory")
    }))
})
