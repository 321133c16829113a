/**
 * Typed errors of stores reached through a connection (the daemon client):
 * what the remote side reported, a connection that failed, and operations
 * the kind of store cannot do.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** The remote store (a daemon) reported an error for an operation; `message` is its text, verbatim. */
export class RemoteStoreError extends Data.TaggedError("RemoteStoreError")<{
  /** The store's URI. */
  readonly store: string
  readonly message: string
  /** The exit status an old-style (protocol < 1.26) error carried. */
  readonly status?: number | undefined
}> {}

/**
 * The connection to a remote store could not be opened, broke, or the peer
 * did not speak the protocol; `message` says which.
 */
export class StoreConnectionError extends Data.TaggedError("StoreConnectionError")<{
  readonly store: string
  readonly message: string
}> {}

/** This kind of store cannot do the operation (Nix's wording). */
export class UnsupportedOperationError extends Data.TaggedError("UnsupportedOperationError")<{
  readonly operation: string
  readonly store: string
}> {
  override get message() {
    return `operation '${this.operation}' is not supported by store '${this.store}'`
  }
}

/** Every failure particular to a remote store. */
export type RemoteError = RemoteStoreError | StoreConnectionError | UnsupportedOperationError
