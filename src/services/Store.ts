/**
 * The `Store` service: a local Nix store (files under the layout's real store
 * directory, metadata in SQLite), with nix-store's operations.
 *
 * Paths are logical store paths (`/nix/store/…`). Every operation fails with a
 * typed error; writes are transactional (all-or-nothing) and hold the locks
 * Nix would hold, so tsnix and Nix can share a store.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect, Option, Stream } from "effect"
import type { Hash, HashAlgo } from "../core/hash.js"
import type { PathInfo, NewPathInfo } from "../schema/PathInfo.js"
import type { StoreLayout } from "../schema/StoreLayout.js"

/** Direction and extent of a closure. */
export interface ClosureOptions {
  /** Follow references (default) or referrers. */
  readonly direction?: "references" | "referrers"
  /** With references: also include the outputs of every derivation in the closure. */
  readonly includeOutputs?: boolean
  /** With references: also include the valid derivers of every path. */
  readonly includeDerivers?: boolean
}

/** How to add a file system object. */
export interface AddToStoreOptions {
  /** Name of the store path (default: the source's base name). */
  readonly name?: string
  /** `recursive` (NAR serialisation, the default) or `flat` (a regular file's bytes). */
  readonly method?: "flat" | "recursive"
  /** Hash algorithm of the content address (default sha256). */
  readonly algo?: HashAlgo
  /** Only entries for which this returns true are added (recursive only); gets the real path. */
  readonly filter?: (path: string) => boolean
}

/** A problem found by `verifyStore`. */
export interface VerifyReport {
  /** True when any problem was found (nix-store --verify then exits 1). */
  readonly errors: boolean
  /** Paths whose files were missing and that were invalidated. */
  readonly invalidated: ReadonlyArray<string>
  /** With checkContents: paths whose contents no longer match their hash. */
  readonly modified: ReadonlyArray<string>
}

/** The operations of a store. */
export interface StoreShape {
  /** The directories this store lives in. */
  readonly layout: StoreLayout
  readonly isValidPath: (path: string) => Effect.Effect<boolean, StoreError>
  /** The subset of `paths` that is valid, in input order. */
  readonly queryValidPaths: (paths: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, StoreError>
  readonly queryAllValidPaths: Effect.Effect<ReadonlyArray<string>, StoreError>
  readonly queryPathInfo: (path: string) => Effect.Effect<Option.Option<PathInfo>, StoreError>
  readonly queryReferences: (path: string) => Effect.Effect<ReadonlyArray<string>, StoreError>
  readonly queryReferrers: (path: string) => Effect.Effect<ReadonlyArray<string>, StoreError>
  readonly queryDeriver: (path: string) => Effect.Effect<Option.Option<string>, StoreError>
  /** Valid derivations that list `path` among their outputs. */
  readonly queryValidDerivers: (path: string) => Effect.Effect<ReadonlyArray<string>, StoreError>
  /** Output name → output path of a valid derivation. */
  readonly queryDerivationOutputMap: (drvPath: string) => Effect.Effect<ReadonlyMap<string, string>, StoreError>
  readonly queryPathFromHashPart: (hashPart: string) => Effect.Effect<Option.Option<string>, StoreError>
  /** The closure of `paths` (included), sorted. */
  readonly computeClosure: (
    paths: ReadonlyArray<string>,
    options?: ClosureOptions
  ) => Effect.Effect<ReadonlyArray<string>, StoreError>
  /** Registers paths (already present on disk) as valid, in one transaction. */
  readonly registerValidPaths: (infos: ReadonlyArray<NewPathInfo>) => Effect.Effect<void, StoreError>
  /** Removes a path's validity; refuses while other valid paths refer to it. Files are left alone. */
  readonly invalidatePath: (path: string) => Effect.Effect<void, StoreError>
  readonly registerFailedPaths: (paths: ReadonlyArray<string>) => Effect.Effect<void, StoreError>
  readonly queryFailedPaths: Effect.Effect<ReadonlyArray<string>, StoreError>
  readonly isFailedPath: (path: string) => Effect.Effect<boolean, StoreError>
  /** Forgets failed paths: the given ones, or all with `"*"`. */
  readonly clearFailedPaths: (paths: ReadonlyArray<string> | "*") => Effect.Effect<void, StoreError>
  /** Copies a file system object into the store (content-addressed) and returns its path. */
  readonly addToStore: (srcPath: string, options?: AddToStoreOptions) => Effect.Effect<string, StoreError>
  /** Adds bytes as a text path with the given references and returns its path. */
  readonly addTextToStore: (
    name: string,
    contents: Uint8Array | string,
    references: ReadonlyArray<string>
  ) => Effect.Effect<string, StoreError>
  /** The NAR serialisation of a valid path's files. */
  readonly narFromPath: (path: string) => Stream.Stream<Uint8Array, StoreError>
  /** nix-store --export of `paths` (each must be valid and unmodified), in the order given. */
  readonly exportPaths: (paths: ReadonlyArray<string>) => Stream.Stream<Uint8Array, StoreError>
  /** nix-store --import: all-or-nothing; returns the imported paths in stream order. */
  readonly importPaths: <E>(stream: Stream.Stream<Uint8Array, E>) => Effect.Effect<ReadonlyArray<string>, StoreError | E>
  /** Checks the database against the files (and contents, optionally). */
  readonly verifyStore: (options: { readonly checkContents: boolean }) => Effect.Effect<VerifyReport, StoreError>
  /** Recomputes a valid path's NAR hash; fails with HashMismatchError when it differs. */
  readonly verifyPath: (path: string) => Effect.Effect<Hash, StoreError>
  /** Deletes paths (referrers first within the set); refuses paths other valid paths still refer to. */
  readonly deletePaths: (paths: ReadonlyArray<string>) => Effect.Effect<{ readonly deleted: ReadonlyArray<string>; readonly bytesFreed: number }, StoreError>
}

/** Every failure a store operation can report. */
export type StoreError = { readonly _tag: string; readonly message: string }

/** The store. */
export class Store extends Context.Tag("tsnix/Store")<Store, StoreShape>() {}
