/**
 * The files Nix 2.8 writes into a sandbox's `/etc` (`local-derivation-goal.cc`, `startBuilder`).
 *
 * @since 0.1.0
 */

/** The uid and gid of the build user inside the sandbox (Nix's `sandboxUid()`/`sandboxGid()`). */
export const sandboxUid = 1000
export const sandboxGid = 100

/** `/etc/passwd`: root, the build user and nobody, all homed at the build directory. */
export const etcPasswd = (buildDir: string): string =>
  `root:x:0:0:Nix build user:${buildDir}:/noshell\n`
  + `nixbld:x:${sandboxUid}:${sandboxGid}:Nix build user:${buildDir}:/noshell\n`
  + "nobody:x:65534:65534:Nobody:/:/noshell\n"

/** `/etc/group`. */
export const etcGroup: string = `root:x:0:\nnixbld:!:${sandboxGid}:\nnogroup:x:65534:\n`

/** `/etc/hosts` of a sandboxed (not fixed-output) build. */
export const etcHosts = "127.0.0.1 localhost\n::1 localhost\n"

/** `/etc/nsswitch.conf` of a fixed-output build (which gets the host's resolv.conf, services, hosts). */
export const etcNsswitch = "hosts: files dns\nservices: files\n"

/** The host files a fixed-output build sees (each only if it exists). */
export const networkHostFiles: ReadonlyArray<string> = ["/etc/resolv.conf", "/etc/services", "/etc/hosts"]
