/**
 * Test helper, not a builder: the environment Nix 2.8 gives a sandboxed builder (drv.env plus its
 * fixed variables, `local-derivation-goal.cc` `initEnv`), so that the sandbox can be compared with
 * Nix's before (and independently of) the Builder.
 */
import type { Derivation } from "../../../src/core/derivation/schema.js"

/**
 * drv.env (non-structured) + PATH, HOME, NIX_STORE, NIX_BUILD_CORES, the tmp dir variables, NIX_LOG_FD,
 * TERM, and NIX_OUTPUT_CHECKED for a fixed-output derivation (no impureEnvVars here).
 */
export const nixSandboxEnv = (drv: Derivation, cores: number, buildDir = "/build"): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of drv.env) env[k] = v
  Object.assign(env, {
    PATH: "/path-not-set",
    HOME: "/homeless-shelter",
    NIX_STORE: "/nix/store",
    NIX_BUILD_CORES: String(cores),
    NIX_BUILD_TOP: buildDir,
    TMPDIR: buildDir,
    TEMPDIR: buildDir,
    TMP: buildDir,
    TEMP: buildDir,
    PWD: buildDir,
    NIX_LOG_FD: "2",
    TERM: "xterm-256color"
  })
  if ([...drv.outputs.values()].some((o) => o.hash !== "")) env["NIX_OUTPUT_CHECKED"] = "1"
  return env
}
