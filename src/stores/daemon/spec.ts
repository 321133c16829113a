/**
 * What a daemon store URI says (parsed by `stores/uri.ts`): how to reach the
 * daemon and the client-side directories.
 *
 * @since 0.1.0
 */

/** How a daemon client reaches its daemon. */
export type DaemonTransport =
  /** A Unix socket. */
  | { readonly _tag: "unix"; readonly socketPath: string }
  /**
   * `remote-program --stdio` over ssh (Nix's SSHStore); for host `localhost`
   * run locally through `bash -c`, as Nix does.
   */
  | {
    readonly _tag: "ssh"
    readonly host: string
    readonly remoteProgram: string
    readonly remoteStore: string | undefined
    readonly sshKey: string | undefined
    readonly compress: boolean
  }

/** A parsed daemon store URI. */
export interface DaemonStoreUri {
  /** The store's URI as Nix prints it in messages (`unix:///x/socket`, `daemon`, `ssh-ng://host`). */
  readonly uri: string
  readonly transport: DaemonTransport
  /** `max-connections` (default 1, as Nix). */
  readonly maxConnections: number
  /** The client-side directories (`root=` and co.: where this process reads `.drv` files). */
  readonly directories: { readonly [K in "root" | "store" | "state" | "real" | "log"]?: string }
}
