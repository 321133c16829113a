/**
 * The sandbox's contract: what a build asks of it (`SandboxRequest`), what it hands back
 * (`SandboxedCommand`) and how it fails (`SandboxError`).
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** One `sandbox-paths` entry: host `source` bound at `target` inside; `optional` ones may be missing. */
export interface SandboxPath {
  readonly source: string
  readonly target: string
  readonly optional: boolean
}

/** What the sandbox needs to know about one build. */
export interface SandboxRequest {
  /** The store directory the build sees (`/nix/store`). */
  readonly logicalStoreDir: string
  /** Where that directory is on the host (`/tmp/r/nix/store` for a chroot store). */
  readonly realStoreDir: string
  /** Logical paths of the input closure (the builder's included); bound read-only at their logical paths. */
  readonly inputPaths: ReadonlyArray<string>
  /** Logical paths of the outputs; never bound in (a `--check` rebuild writes fresh ones). */
  readonly outputPaths: ReadonlyArray<string>
  /** The host directory that becomes `/build` (Nix's `sandbox-build-dir`). */
  readonly hostBuildDir: string
  /** `sandbox-paths`: raw entries as nix.conf writes them (`/bin/sh`, `/a=/b`, `/c?`) or parsed ones. */
  readonly sandboxPaths: ReadonlyArray<string | SandboxPath>
  /** Keep the host network (fixed-output derivations): no network namespace, the host's resolver files. */
  readonly network: boolean
  /** The builder (a logical path, or any path visible inside) and its arguments. */
  readonly builder: string
  readonly args: ReadonlyArray<string>
  /** The whole environment of the builder (nothing else is passed). */
  readonly env: Readonly<Record<string, string>>
  /** The directory in which the sandbox's root is made (default: the parent of `realStoreDir`). */
  readonly chrootParent?: string | undefined
  /** Bind `/dev/kvm` (Nix's `kvm` system feature; default: whether the host's is usable). */
  readonly kvm?: boolean | undefined
  /** The build directory's path inside (default `/build`). */
  readonly sandboxBuildDir?: string | undefined
}

/** A command ready to spawn (no shell), and where the outputs are afterwards. */
export interface SandboxedCommand {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  /** Where the files of a logical output path are on the host once the child has exited. */
  readonly outputHostPath: (logicalOutputPath: string) => string
}

/** The sandbox could not be prepared (bubblewrap missing, a path that cannot be bound, an I/O error). */
export class SandboxError extends Data.TaggedError("SandboxError")<{
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const c = this.cause instanceof Error ? `: ${this.cause.message}` : ""
    return `${this.reason}${c}`
  }
}

/** Parses a `sandbox-paths` entry as Nix does: a trailing `?` makes it optional, `target=source` rebinds. */
export const parseSandboxPath = (entry: string): SandboxPath | undefined => {
  if (entry === "") return undefined
  const optional = entry.endsWith("?")
  const e = optional ? entry.slice(0, -1) : entry
  const eq = e.indexOf("=")
  return eq === -1
    ? { source: e, target: e, optional }
    : { target: e.slice(0, eq), source: e.slice(eq + 1), optional }
}
