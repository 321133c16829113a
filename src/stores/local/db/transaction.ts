/**
 * Transactions on the store database.
 *
 * `write` runs its body inside `BEGIN IMMEDIATE` (so a writer never fails
 * half-way with SQLITE_BUSY_SNAPSHOT), commits on success and rolls back on
 * failure, defect or interruption. A COMMIT that fails never leaves the
 * connection inside a transaction: it is followed by a ROLLBACK that tolerates
 * "no transaction is active". Busy/locked errors restart the whole transaction
 * with backoff (see busy.ts). `read` does the same with `BEGIN DEFERRED` for
 * reads that need one consistent snapshot.
 *
 * Statements issued by the body through the SqlClient run on the reserved
 * connection (the body runs with `SqlClient.TransactionConnection` set).
 * A nested `write`/`read` joins the enclosing transaction.
 *
 * A write whose body checks referential integrity itself (bulk registration)
 * may run with SQLite's foreign-key enforcement off (`foreignKeys: false`):
 * the pragma is switched off before BEGIN (it cannot change inside a
 * transaction) and back on after COMMIT or ROLLBACK, whatever happened.
 *
 * @since 0.1.0
 */
import { Effect, Exit, Option, Scope } from "effect"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import { type BusyPolicy, defaultBusyPolicy, retryBusy } from "./busy.js"
import { DatabaseBusyError, ReadOnlyStoreError, StoreDbError } from "../../../services/errors/database.js"

/** `IMMEDIATE` takes the write lock at BEGIN; `DEFERRED` only reads until it writes. */
export type TransactionMode = "IMMEDIATE" | "DEFERRED"

/** Options of a write transaction. */
export interface WriteOptions {
  /**
   * Enforce foreign keys in this transaction (default true). false is for bodies
   * that only insert rows whose parents they have checked themselves: SQLite's
   * per-row parent look-ups are then skipped. Ignored when joining an enclosing
   * transaction.
   */
  readonly foreignKeys?: boolean
}

/** Errors a transaction adds to its body's own: SqlErrors become StoreDbError. */
export type TransactionError<E> = Exclude<E, SqlError> | StoreDbError | DatabaseBusyError

/** Runs transactions on one SqlClient. */
export interface Transactor {
  /** Runs `body` in a write transaction (fails with ReadOnlyStoreError on a read-only store). */
  readonly write: <A, E, R>(
    operation: string,
    body: Effect.Effect<A, E, R>,
    options?: WriteOptions
  ) => Effect.Effect<A, TransactionError<E> | ReadOnlyStoreError, R>
  /** Runs `body` in a read transaction (one consistent snapshot). */
  readonly read: <A, E, R>(operation: string, body: Effect.Effect<A, E, R>) => Effect.Effect<A, TransactionError<E>, R>
  /** Retries a single statement (no explicit transaction) on busy and maps SqlError to StoreDbError. */
  readonly single: <A, E, R>(
    operation: string,
    body: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, TransactionError<E>, R>
  /** Whether writes are refused. */
  readonly readOnly: boolean
  /** True when none of this transactor's transactions holds the connection (see `openTransactions`). */
  readonly idle: () => boolean
}

/** A count of open transactions (reserved connections), shared by a transactor's attempts. */
export interface OpenTransactions {
  count: number
}

const messageOf = (e: unknown): string => {
  if (e instanceof SqlError) return messageOf(e.cause) || e.message
  if (e instanceof Error) return e.message
  return String(e)
}

/** Maps a remaining SqlError to a StoreDbError naming the operation. */
export const toStoreDbError = (operation: string) => (e: unknown): StoreDbError =>
  new StoreDbError({ operation, message: messageOf(e), cause: e })

const mapSqlError = (operation: string) => <A, E, R>(eff: Effect.Effect<A, E, R>) =>
  Effect.catchIf(
    eff,
    (e): e is E & SqlError => e instanceof SqlError,
    (e) => Effect.fail(toStoreDbError(operation)(e))
  ) as Effect.Effect<A, TransactionError<E>, R>

/** ROLLBACK, ignoring "no transaction is active" (SQLite may already have rolled back). */
const rollbackQuietly = (conn: Connection) =>
  conn.executeRaw("ROLLBACK", []).pipe(
    Effect.asVoid,
    Effect.catchAll((e) =>
      /no transaction is active/i.test(messageOf(e))
        ? Effect.void
        : Effect.logWarning(`rollback failed: ${messageOf(e)}`)
    )
  )

/**
 * Switches foreign-key enforcement off on `conn` until `scope` closes. The
 * finaliser switches it back on and checks that it is on: should that fail (a
 * transaction still open after a failed ROLLBACK), the connection must not be
 * used as if nothing happened, so that is a defect.
 */
const foreignKeysOffUntilClosed = (conn: Connection, scope: Scope.Scope) =>
  Effect.zipRight(
    conn.executeRaw("PRAGMA foreign_keys = 0", []),
    Scope.addFinalizer(
      scope,
      conn.executeRaw("PRAGMA foreign_keys = 1", []).pipe(
        Effect.zipRight(conn.executeValues("PRAGMA foreign_keys", [])),
        Effect.flatMap((rows) =>
          rows[0]?.[0] === 1 ? Effect.void : Effect.dieMessage("could not switch foreign keys back on")
        ),
        Effect.orDie
      )
    )
  )

/**
 * One attempt: reserve the connection, BEGIN, run the body, COMMIT or ROLLBACK,
 * release. The body is the only interruptible part.
 */
export const transactionOnce = (
  sql: SqlClient.SqlClient,
  mode: TransactionMode,
  open?: OpenTransactions,
  options: WriteOptions = {}
) =>
<A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
  Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (outer) =>
    Option.isSome(outer)
      ? body
      : Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const scope = yield* Scope.make()
          const reserved = yield* Effect.exit(restore(Scope.extend(sql.reserve, scope)))
          if (Exit.isFailure(reserved)) {
            yield* Scope.close(scope, reserved)
            return yield* Effect.failCause(reserved.cause)
          }
          const conn = reserved.value
          if (open) {
            open.count++
            yield* Scope.addFinalizer(scope, Effect.sync(() => void open.count--))
          }
          const begun = yield* Effect.exit(
            options.foreignKeys === false
              ? Effect.zipRight(foreignKeysOffUntilClosed(conn, scope), conn.executeRaw(`BEGIN ${mode}`, []))
              : conn.executeRaw(`BEGIN ${mode}`, [])
          )
          if (Exit.isFailure(begun)) {
            yield* Scope.close(scope, begun)
            return yield* Effect.failCause(begun.cause)
          }
          const exit = yield* Effect.exit(
            restore(body).pipe(Effect.provideService(SqlClient.TransactionConnection, [conn, 0] as const))
          )
          if (Exit.isSuccess(exit)) {
            const committed = yield* Effect.exit(conn.executeRaw("COMMIT", []))
            if (Exit.isFailure(committed)) {
              yield* rollbackQuietly(conn)
              yield* Scope.close(scope, committed)
              return yield* Effect.failCause(committed.cause)
            }
            yield* Scope.close(scope, Exit.void)
            return exit.value
          }
          yield* rollbackQuietly(conn)
          yield* Scope.close(scope, exit)
          return yield* Effect.failCause(exit.cause)
        })
      ))

/** Builds the transactor for a client. */
export const makeTransactor = (
  sql: SqlClient.SqlClient,
  options: { readonly readOnly: boolean; readonly busyPolicy?: BusyPolicy }
): Transactor => {
  const policy = options.busyPolicy ?? defaultBusyPolicy
  const open: OpenTransactions = { count: 0 }
  const run =
    (mode: TransactionMode) =>
    <A, E, R>(operation: string, body: Effect.Effect<A, E, R>, writeOptions?: WriteOptions) =>
      transactionOnce(sql, mode, open, writeOptions)(body).pipe(
        retryBusy(operation, policy),
        mapSqlError(operation),
        Effect.withSpan(`StoreDb.transaction`, { attributes: { operation, mode } })
      ) as Effect.Effect<A, TransactionError<E>, R>
  const write = <A, E, R>(operation: string, body: Effect.Effect<A, E, R>, writeOptions?: WriteOptions) =>
    options.readOnly
      ? Effect.fail(new ReadOnlyStoreError({ operation }))
      : run("IMMEDIATE")(operation, body, writeOptions)
  const single = <A, E, R>(operation: string, body: Effect.Effect<A, E, R>) =>
    body.pipe(retryBusy(operation, policy), mapSqlError(operation)) as Effect.Effect<A, TransactionError<E>, R>
  const read = <A, E, R>(operation: string, body: Effect.Effect<A, E, R>) => run("DEFERRED")(operation, body)
  return { write, read, single, readOnly: options.readOnly, idle: () => open.count === 0 }
}
