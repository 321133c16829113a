/**
 * The build sandbox (bubblewrap): `prepareSandbox` makes the command that runs a builder as Nix 2.8's
 * Linux sandbox does; `sandboxAvailable` says whether that can work on this machine.
 *
 * @since 0.1.0
 */
export { bwrapPackage, findBwrap, sandboxAvailable } from "./bwrap.js"
export { etcGroup, etcHosts, etcNsswitch, etcPasswd, sandboxGid, sandboxUid } from "./etcFiles.js"
export { prepareSandbox } from "./prepare.js"
export { parseSandboxPath, SandboxError } from "./types.js"
export type { SandboxedCommand, SandboxPath, SandboxRequest } from "./types.js"
