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
import type { StoreLayout } from "../schema/StoreLayout.js"

/** The argument does not lead into the store. */
export class NotInStoreError extends Data.TaggedError("NotInStoreError")<{ readonly path: string; readonly reason?: string }> {
  override get message() {
    return this.reason === undefined
      ? `path '${this.path}' is not in the Nix store`
      : `path '${this.path}' is not a valid store path: ${this.reason}`
  }
}

const isInStore = (storeDir: string, p: string) => p.startsWith(storeDir + "/")

/** Resolves `arg` to a logical store path. */
export const followLinksToStorePath = (layout: StoreLayout, arg: string) =>
  Effect.gen(function*() {
    let p = path.resolve(arg)
    for (let hops = 0; hops < 64 && !isInStore(layout.storeDir, p); hops++) {
      const target = yield* Effect.promise(() => fs.readlink(p).catch(() => undefined))
      if (target === undefined) break
      p = path.resolve(path.dirname(p), target)
    }
    if (!isInStore(layout.storeDir, p)) return yield* new NotInStoreError({ path: arg })
    const r = toStorePath(layout.storeDir, p)
    if (Either.isLeft(r)) return yield* new NotInStoreError({ path: p, reason: r.left.reason })
    return storePathToString(layout.storeDir, r.right.path)
  })

/** Resolves every argument (in order). */
export const followLinksToStorePaths = (layout: StoreLayout, args: ReadonlyArray<string>) =>
  Effect.forEach(args, (a) => followLinksToStorePath(layout, a))
