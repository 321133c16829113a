/**
 * What the daemon's build and substitution ops need besides the Store: the
 * Builder (when the daemon fronts a local store), the Derivations reader of
 * that store, and the daemon's own build and substitution settings (which
 * each session's SetOptions then adjust, as Nix's `ClientSettings::apply`).
 * Provided by `tsnix daemon` (and by tests); without it the build ops answer
 * "not supported by this store".
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { BuilderShape, BuildOptions } from "../services/Builder.js"
import type { DerivationsShape } from "../services/Derivations.js"
import type { SubstituteOptions } from "../stores/substitute.js"

/** The daemon's build environment (see the module comment). */
export interface DaemonBuildEnvShape {
  /** The Builder of the served store (absent: the store cannot build, e.g. a binary cache). */
  readonly builder: BuilderShape | undefined
  /** Reads `.drv` files of the served store (absent: derivations cannot be read). */
  readonly derivations: DerivationsShape | undefined
  /** The daemon's build settings (its nix.conf / NIX_CONFIG / `--option`). */
  readonly buildOptions: BuildOptions
  /** The daemon's substituters, keys and `require-sigs`. */
  readonly substitute: SubstituteOptions
}

/** The daemon build environment's tag. */
export class DaemonBuildEnv extends Context.Tag("tsnix/DaemonBuildEnv")<DaemonBuildEnv, DaemonBuildEnvShape>() {}
