/** Shared helpers for the store-database tests. */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { Context, Effect, Layer } from "effect"
import type { StoreDbOptions } from "../../../../src/stores/local/db/makeStoreDb.js"
import { StoreDb } from "../../../../src/services/StoreDb.js"
import * as StoreDbLayer from "../../../../src/stores/local/db/layer.js"
import { makeStoreLayout, type StoreLayout } from "../../../../src/core/storeLayout.js"

/** The committed goldens of golden/db. */
export const goldenDir = path.resolve(__dirname, "../../../../golden/db")

/** Reads a golden text file. */
export const golden = (name: string): string => fs.readFileSync(path.join(goldenDir, name), "utf8")

/** key=path pairs of golden/db/paths.txt. */
export const goldenPaths = (): Record<string, string> =>
  Object.fromEntries(golden("paths.txt").trim().split("\n").map((l) => l.split("=") as [string, string]))

/** A fresh temporary store root, removed with the scope. */
export const tempLayout = Effect.acquireRelease(
  Effect.sync(() => makeStoreLayout(fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-db-")))),
  (l: StoreLayout) => Effect.sync(() => fs.rmSync(l.root, { recursive: true, force: true }))
)

/** A temporary copy of the Nix-2.8-written fixture store. */
export const fixtureLayout = Effect.map(tempLayout, (l) => {
  fs.cpSync(path.join(goldenDir, "nix-store-fixture"), l.root, { recursive: true })
  return l
})

/** A fake but well-formed store path `/nix/store/<32 chars>-<name>` for index n. */
export const fakePath = (n: number, name = "p"): string => {
  const alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
  let h = ""
  let x = n
  for (let i = 0; i < 32; i++) {
    h = alphabet[x % 32] + h
    x = Math.floor(x / 32)
  }
  return `/nix/store/${h}-${name}`
}

/** A well-formed NAR hash string for index n. */
export const fakeHash = (n: number): string => `sha256:${n.toString(16).padStart(64, "0")}`

/** Opens a StoreDb in the current scope. */
export const openStoreDb = (options: StoreDbOptions) =>
  Effect.map(Layer.build(StoreDbLayer.layer(options)), (ctx) => Context.get(ctx, StoreDb))

/** The few better-sqlite3 methods the tests use (the package ships no types). */
export interface RawDb {
  exec(sql: string): void
  prepare(
    sql: string
  ): {
    run(...params: ReadonlyArray<unknown>): unknown
    all(...params: ReadonlyArray<unknown>): Array<Record<string, unknown>>
  }
  close(): void
}

/** Opens a raw better-sqlite3 connection (to build old schemas and check foreign keys). */
export const rawDb = (file: string, options: { readonly readonly?: boolean } = {}): RawDb => {
  const Database = createRequire(import.meta.url)("better-sqlite3") as new(file: string, o: object) => RawDb
  return new Database(file, options)
}
