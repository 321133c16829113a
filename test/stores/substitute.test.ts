import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { makePublicKeys, parsePublicKey } from "../../src/core/cache/signing.js"
import { openStore } from "../../src/stores/fromUri.js"
import { substitutePaths } from "../../src/stores/substitute.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/cache")
const named = (n: string) =>
  fs.readFileSync(path.join(golden, "paths.txt"), "utf8").match(new RegExp(`^${n}=(.*)$`, "m"))![1]!
const keys = makePublicKeys([
  Either.getOrThrow(parsePublicKey(fs.readFileSync(path.join(golden, "keys/test-1.pub"), "utf8")))
])
const copyOf = (name: string) => {
  const d = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-subst-")), name)
  fs.cpSync(path.join(golden, name), d, { recursive: true })
  return `file://${d}`
}
const freshStore = () => openStore(fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-subst-store-")))

describe("substitutePaths", () => {
  it.scoped("fetches a closure from the first cache with a trusted signature; skips unsigned ones", () =>
    Effect.gen(function*() {
      const store = yield* freshStore()
      const out = named("out")
      const seen: Array<string> = []
      const r = yield* substitutePaths(store, [out], {
        // A scheme tsnix has no store for (skipped quietly), then an unsigned cache, then a signed one.
        substituters: ["ssh://unsupported.example", copyOf("unsigned"), copyOf("bzip2")],
        substitute: true,
        requireSigs: true,
        publicKeys: keys,
        onCopy: (p, from) => Effect.sync(() => seen.push(`${p} ${from.slice(-5)}`))
      })
      expect(r.missing).toEqual([])
      expect(r.substituted).toEqual([named("leaf"), named("mid"), out])
      expect(seen.every((s) => s.endsWith("bzip2"))).toBe(true)
      expect(yield* store.isValidPath(out)).toBe(true)
      yield* store.verifyPath(out)
    }))

  it.scoped("without a trusted signature nothing is registered; require-sigs=false or substitute=false", () =>
    Effect.gen(function*() {
      const store = yield* freshStore()
      const out = named("out")
      const base = { substituters: [copyOf("unsigned")], substitute: true, requireSigs: true, publicKeys: keys }
      expect((yield* substitutePaths(store, [out], base)).missing).toEqual([out])
      expect(yield* store.isValidPath(out)).toBe(false)
      expect(yield* store.isValidPath(named("mid"))).toBe(false)
      expect((yield* substitutePaths(store, [out], { ...base, substitute: false })).missing).toEqual([out])
      expect((yield* substitutePaths(store, [out], { ...base, requireSigs: false })).missing).toEqual([])
      expect(yield* store.isValidPath(out)).toBe(true)
    }))
})
