/**
 * The `Builder` contract: realising derivations as Nix 2.8's local builder
 * does (goals over the derivation graph, inputs first, up to `maxJobs` builds
 * at once; each build a scoped resource; outputs registered in one
 * transaction). The implementation is `src/builder/layer.ts`; any caller (the
 * CLI, the daemon) uses it through this Tag.
 *
 * Nix's exit statuses are carried by {@link BuildFailedError.exitStatus}:
 * 100 build failure, 101 timeout, 102 fixed-output hash mismatch, 104 check
 * mismatch (bits combined as Nix's `Worker::exitStatus`), 1 otherwise.
 *
 * @since 0.1.0
 */
import { Context, Data } from "effect"
import type { Effect, Option } from "effect"
import type { Derivation } from "../core/derivation/schema.js"
import { BuildStatus as buildStatusCode } from "../core/wire/worker/build.js"

export { buildStatusCode }

/**
 * Nix's BuildResult status names (`build-result.hh`). The numbers are the
 * worker protocol's, kept once in `core/wire/worker/build.ts`
 * ({@link buildStatusCode}).
 */
export type BuildStatus = keyof typeof buildStatusCode

/** What to realise: a derivation and the outputs wanted (all when empty or absent). */
export interface BuildRequest {
  readonly drvPath: string
  readonly outputs?: ReadonlyArray<string> | undefined
}

/** Settings of one `buildDerivations` call (Nix's settings of the same names). */
export interface BuildOptions {
  /** `max-jobs`: builds at once (at least 1). */
  readonly maxJobs: number
  /** `cores`: NIX_BUILD_CORES (0: the machine's number of CPUs). */
  readonly cores: number
  /** `timeout` in seconds (0: none). */
  readonly timeout: number
  /** `max-silent-time` in seconds (0: none). */
  readonly maxSilentTime: number
  /** `keep-failed`: keep the build directory of a failed build. */
  readonly keepFailed: boolean
  /** `keep-going`: go on with other goals after a failure. */
  readonly keepGoing: boolean
  /** `--check`: rebuild valid outputs and compare them with the registered ones. */
  readonly check: boolean
  /** `build-cache-failure`: record failed outputs in FailedPaths and refuse them later. */
  readonly cacheFailure: boolean
  /** `sandbox`: `true`, `false` or `relaxed` (a chroot store is always sandboxed). */
  readonly sandbox: "true" | "false" | "relaxed"
  /** `sandbox-fallback`: build unsandboxed when bubblewrap cannot run (never for a chroot store). */
  readonly sandboxFallback: boolean
  /** `sandbox-paths` entries (`from=to`, `path?` optional). */
  readonly sandboxPaths: ReadonlyArray<string>
  /** `keep-build-log`. */
  readonly keepBuildLog: boolean
  /** `compress-build-log` (bzip2). */
  readonly compressBuildLog: boolean
  /** `max-build-log-size` in bytes (0: unlimited). */
  readonly maxLogSize: number
  /** Receives the builder's output (stdout and stderr, interleaved) as it comes, with the derivation built. */
  readonly onLog?: ((chunk: Uint8Array, drvPath: string) => void) | undefined
  /** Receives Nix's progress lines (`building '…'...`, `note: keeping build directory …`). */
  readonly onInfo?: ((line: string) => void) | undefined
  /** Receives the errors of failed input derivations as they happen (Nix logs them at once). */
  readonly onError?: ((message: string) => void) | undefined
  // Issue 14/15 features (optional: absent means Nix's default).
  /** `repeat`: rebuild this many more times and compare (0: build once). */
  readonly repeat?: number | undefined
  /** `enforce-determinism` (default true): a round that differs fails the build. */
  readonly enforceDeterminism?: boolean | undefined
  /** `post-build-hook`: a program run after each successful build ("" or absent: none). */
  readonly postBuildHook?: string | undefined
  /** `NIX_CONFIG` for the post-build hook (the settings as `name = value` lines). */
  readonly hookNixConfig?: string | undefined
  /** `secret-key-files`: each built output is signed with each key. */
  readonly secretKeyFiles?: ReadonlyArray<string> | undefined
  /** Nix's verbosity for `@nix` messages (0 error … 3 info, the default … 7). */
  readonly verbosity?: number | undefined
  /**
   * Receives the builder's output as Nix's logger does: line by line (`\r` handled, `@nix` lines
   * taken out, a last line without `\n` flushed). `onLog` still gets the raw bytes.
   */
  readonly onLogLine?: ((line: Uint8Array) => void) | undefined
  /** Receives the `@nix` messages Nix handles (setPhase, activities of file transfers), to forward them. */
  readonly onStructuredLog?: ((json: Readonly<Record<string, unknown>>) => void) | undefined
  /**
   * Substitution before building: asked to make the given (invalid) output paths valid from the
   * substituters; what stays invalid is built. Absent: no substitution.
   */
  readonly substitute?: ((paths: ReadonlyArray<string>) => Effect.Effect<void>) | undefined
  /**
   * Called when a builder starts (instead of `onInfo`'s `building '…'...` line), with the
   * derivation and whether it is a `--check` round; `onLog` then gets that build's drvPath too.
   */
  readonly onBuildStart?: ((drvPath: string, check: boolean) => void) | undefined
  /** Called when the build started by `onBuildStart` is over (whatever ended it). */
  readonly onBuildEnd?: ((drvPath: string) => void) | undefined
}

/** The outcome of one requested derivation. */
export interface BuildResult {
  readonly drvPath: string
  readonly status: BuildStatus
  /** Nix's error message when the status is a failure, else "". */
  readonly errorMsg: string
  /** Output name → path of the wanted outputs (when they are valid now). */
  readonly outputs: Readonly<Record<string, string>>
  /** Rounds built (0 when nothing was built). */
  readonly timesBuilt: number
  /** Unix seconds. */
  readonly startTime: number
  readonly stopTime: number
}

/**
 * Building failed (one message per failed goal, as Nix prints them). The
 * exit status is Nix's (100, 101, 102, 104, combinations, or 1).
 */
export class BuildFailedError extends Data.TaggedError("BuildFailedError")<{
  readonly messages: ReadonlyArray<string>
  readonly exitStatus: number
  readonly results: ReadonlyArray<BuildResult>
}> {
  override get message(): string {
    return this.messages.join("\n")
  }
}

/** The store could not be read or written while building (its own message). */
export class BuilderStoreError extends Data.TaggedError("BuilderStoreError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message(): string {
    const c: unknown = this.cause
    const m = typeof c === "object" && c !== null && "message" in c ? String(c.message) : String(c)
    return `${this.operation}: ${m}`
  }
}

/** Failures of `buildDerivations`. */
export type BuildError = BuildFailedError | BuilderStoreError

/** The operations of the Builder. */
export interface BuilderShape {
  /**
   * Realises the requested derivations' outputs: input derivations first, up
   * to `maxJobs` builds at once. Fails with {@link BuildFailedError} when a
   * goal failed (after the others finished, with `keepGoing`; else at once,
   * interrupting the running builds).
   */
  readonly buildDerivations: (
    requests: ReadonlyArray<BuildRequest>,
    options: BuildOptions
  ) => Effect.Effect<ReadonlyArray<BuildResult>, BuildError>
  /**
   * Builds one derivation given whole, as Nix's `Store::buildDerivation` (the daemon's
   * BuildDerivation): the `.drv` need not be in the store, its inputs (`inputSrcs`) must be
   * valid. A failure is the result's status, never an error.
   */
  readonly buildDerivation: (
    drvPath: string,
    drv: Derivation,
    options: BuildOptions
  ) => Effect.Effect<BuildResult, BuilderStoreError>
  /** The build log of a derivation or of an output path (through its deriver), decompressed. */
  readonly readLog: (path: string) => Effect.Effect<Option.Option<Uint8Array>, BuilderStoreError>
}

/** The Builder service tag. */
export class Builder extends Context.Tag("tsnix/Builder")<Builder, BuilderShape>() {}
