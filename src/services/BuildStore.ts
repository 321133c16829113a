/**
 * The `BuildStore` contract: a store that builds and substitutes on its own
 * side, as Nix's RemoteStore forwards `queryMissing`, `buildPaths` and
 * `ensurePath` to a daemon. The CLI's `-r` uses it for daemon stores
 * (`daemon`, `unix://…`, `ssh-ng://…`); the local store builds through the
 * Builder instead. Targets are DerivedPath strings: a store path, or
 * `DRV!OUT1,OUT2` / `DRV!*`.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { RemoteStoreError, StoreConnectionError } from "./errors/remote.js"
import type { BuildStatus } from "./Builder.js"

/** What realising the targets would do (Nix's queryMissing). */
export interface MissingInfo {
  readonly willBuild: ReadonlyArray<string>
  readonly willSubstitute: ReadonlyArray<string>
  readonly unknown: ReadonlyArray<string>
  readonly downloadSize: number
  readonly narSize: number
}

/** The outcome of one target. */
export interface TargetResult {
  /** The target, as the store printed it. */
  readonly path: string
  readonly status: BuildStatus
  /** Nix's message for a failure ("" on success). */
  readonly errorMsg: string
  readonly timesBuilt: number
  readonly startTime: number
  readonly stopTime: number
}

/** `normal`, `repair` (rebuild or re-fetch corrupt paths) or `check` (rebuild and compare). */
export type BuildModeName = "normal" | "repair" | "check"

/** Failures of the build store's operations. */
export type BuildStoreError = RemoteStoreError | StoreConnectionError

/** The operations of a BuildStore. */
export interface BuildStoreShape {
  /** What building the targets would build, substitute, or cannot make. */
  readonly queryMissing: (targets: ReadonlyArray<string>) => Effect.Effect<MissingInfo, BuildStoreError>
  /**
   * Realises the targets. With a store that reports results (protocol 1.34) every
   * target has one, failures included; an older one fails with its error instead.
   */
  readonly buildPaths: (
    targets: ReadonlyArray<string>,
    mode: BuildModeName
  ) => Effect.Effect<ReadonlyArray<TargetResult>, BuildStoreError>
  /** Makes a path valid (substituting it when absent), or fails with the store's message. */
  readonly ensurePath: (path: string) => Effect.Effect<void, BuildStoreError>
}

/** The BuildStore service tag. */
export class BuildStore extends Context.Tag("tsnix/BuildStore")<BuildStore, BuildStoreShape>() {}
