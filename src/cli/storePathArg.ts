/**
 * Turning a command-line argument into a store path, as nix-store's
 * `followLinksToStorePath` does: make it absolute, follow symlinks until it
 * names something inside the (logical) store directory, then drop any
 * sub-path (`/nix/store/…-foo/bin/foo` → `/nix/store/…-foo`).
 *
 * @since 0.1.0
 */
import { Data, Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { storePathToString, toStorePath } from "../core/storePath.js"
import type { StoreLayout } from "../core/storeLayout.js"
import { sysErrorText } from "../core/sysError.js"
import * as StorePathBrand from "../core/storePathBrand.js"
import type { StorePath } from "../core/storePathBrand.js"

/** The argument does not lead into the store. */
export class NotInStoreError extends Data.TaggedError("NotInStoreError")<{
  readonly path: string
  readonly reason?: string
  /** Nix's own wording for a malformed store path, when known. */
  readonly nixMessage?: string
}> {
  override get message() {
    if (this.nixMessage !== undefined) return this.nixMessage
    return this.reason === undefined
      ? `path '${this.path}' is not in the Nix store`
      : `path '${this.path}' is not a valid store path: ${this.reason}`
  }
}

const nameChar = /^[0-9a-zA-Z+\-._?=]$/
const nix32Char = /^[0-9a-df-np-sv-z]$/

/**
 * The message Nix 2.8's `StorePath` constructor gives for a malformed base
 * name (same checks, same order), or undefined when Nix would accept it.
 */
export const nixBadStorePathMessage = (baseName: string): string | undefined => {
  if (baseName.length < 33) return `'${baseName}' is too short to be a valid store path`
  for (const c of baseName.slice(0, 32)) {
    if (!nix32Char.test(c)) return `store path '${baseName}' contains illegal base-32 character '${c}'`
  }
  const name = baseName.slice(33)
  if (name === "") return `store path '${baseName}' has an empty name`
  if (name.length > 211) return `store path '${baseName}' has a name longer than 211 characters`
  for (const c of name) if (!nameChar.test(c)) return `store path '${baseName}' contains illegal character '${c}'`
  return undefined
}

const isInStore = (storeDir: string, p: string) => p.startsWith(storeDir + "/")

/** `lstat`/`readlink` of an argument failed (Nix: "getting status of '/abs': No such file or directory"). */
export class ArgumentStatError extends Data.TaggedError("ArgumentStatError")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message() {
    return `getting status of '${this.path}': ${sysErrorText(this.cause)}`
  }
}

/**
 * Resolves `arg` to a logical store path, as Nix's `followLinksToStore`:
 * the absolute path; while it is outside the store, follow it if it is a
 * symlink (an lstat failure is an error naming the absolute path), else stop.
 */
export const followLinksToStorePath = (layout: StoreLayout, arg: string) =>
  Effect.gen(function*() {
    let p = path.resolve(arg)
    for (let hops = 0; hops < 64 && !isInStore(layout.storeDir, p); hops++) {
      const at = p
      const st = yield* Effect.tryPromise({
        try: () => fs.lstat(at),
        catch: (cause) => new ArgumentStatError({ path: at, cause })
      })
      if (!st.isSymbolicLink()) break
      const target = yield* Effect.tryPromise({
        try: () => fs.readlink(at),
        catch: (cause) => new ArgumentStatError({ path: at, cause })
      })
      p = path.resolve(path.dirname(p), target)
    }
    if (!isInStore(layout.storeDir, p)) return yield* new NotInStoreError({ path: p })
    return yield* storePathOf(layout, p, true)
  })

/**
 * Nix's `parseStorePath` of a path that must already name a store path (no
 * symlinks followed, no sub-path): "not an absolute path", "not in the Nix
 * store", or the malformed-name messages.
 */
export const parseStorePathArg = (layout: StoreLayout, arg: string) =>
  Effect.suspend(() => {
    if (!arg.startsWith("/")) {
      return Effect.fail(new NotInStoreError({ path: arg, nixMessage: `not an absolute path: '${arg}'` }))
    }
    return storePathOf(layout, path.resolve(arg), false)
  })

/**
 * The store path `p` (absolute, canonical) names; with `subPath`, `p` may lie inside it.
 * The result is the branded {@link StorePath}: arguments are parsed once, here, at the edge.
 */
const storePathOf = (layout: StoreLayout, p: string, subPath: boolean): Effect.Effect<StorePath, NotInStoreError> =>
  Effect.gen(function*() {
    if (!isInStore(layout.storeDir, p)) return yield* new NotInStoreError({ path: p })
    const r = toStorePath(layout.storeDir, p)
    if (Either.isRight(r) && r.right.rest !== "" && !subPath) return yield* new NotInStoreError({ path: p })
    if (Either.isLeft(r)) {
      const base = p.slice(layout.storeDir.length + 1).split("/")[0] ?? ""
      const nixMessage = nixBadStorePathMessage(base)
      return yield* new NotInStoreError(
        nixMessage === undefined ? { path: p, reason: r.left.reason } : { path: p, reason: r.left.reason, nixMessage }
      )
    }
    return StorePathBrand.unsafeMake(layout.storeDir, storePathToString(layout.storeDir, r.right.path))
  })

/** Resolves every argument (in order). */
export const followLinksToStorePaths = (layout: StoreLayout, args: ReadonlyArray<string>) =>
  Effect.forEach(args, (a) => followLinksToStorePath(layout, a))
