/**
 * The sandboxed command of a build, through the sandbox module
 * (`src/builder/sandbox/`, bubblewrap): the argv that runs the builder in
 * its namespaces, and where its outputs are on the host afterwards. A build
 * that needs the sandbox when bubblewrap cannot run fails with a message
 * naming the package.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import type { StoreLayout } from "../core/storeLayout.js"
import { BuilderStoreError } from "../services/Builder.js"
import { BuildSetupError } from "./env.js"
import { prepareSandbox, sandboxAvailable } from "./sandbox/index.js"

/** A command ready to spawn, and where each output's files will be. */
export interface PreparedCommand {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly argv0?: string | undefined
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
  readonly outputHostPath: (logicalOutputPath: string) => string
}

/** What the sandbox needs to know about a build. */
export interface SandboxedBuild {
  readonly layout: StoreLayout
  readonly inputPaths: ReadonlyArray<string>
  readonly outputPaths: ReadonlyArray<string>
  readonly hostBuildDir: string
  readonly sandboxPaths: ReadonlyArray<string>
  readonly network: boolean
  readonly builder: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
}

/** Prepares the bubblewrap command of a build (scoped: the sandbox's files go when the scope closes). */
export const sandboxedCommand = (
  b: SandboxedBuild
): Effect.Effect<PreparedCommand | BuildSetupError, BuilderStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    if (!(yield* sandboxAvailable)) {
      return new BuildSetupError({
        message: "this build needs the sandbox, but bubblewrap ('bwrap', Debian package 'bubblewrap') cannot run here"
      })
    }
    const cmd = yield* prepareSandbox({
      logicalStoreDir: b.layout.storeDir,
      realStoreDir: b.layout.realStoreDir,
      inputPaths: b.inputPaths,
      outputPaths: b.outputPaths,
      hostBuildDir: b.hostBuildDir,
      sandboxPaths: b.sandboxPaths,
      network: b.network,
      builder: b.builder,
      args: b.args,
      env: b.env
    }).pipe(Effect.mapError((cause) => new BuilderStoreError({ operation: "preparing the sandbox", cause })))
    return {
      command: cmd.command,
      args: cmd.args,
      env: cmd.env,
      cwd: b.hostBuildDir,
      outputHostPath: (p: string) => cmd.outputHostPath(p)
    }
  })

/** Whether bubblewrap can run here (for `sandbox-fallback`). */
export const canSandbox: Effect.Effect<boolean> = sandboxAvailable
