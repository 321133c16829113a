/**
 * Opening the store database: client + pragmas, creation of a new database,
 * version checks and upgrades of older ones.
 *
 * A read-only opening writes nothing. SQLite's WAL rules decide how: a
 * reader of a WAL database needs the `-wal`/`-shm` files, and creates them
 * (and leaves them behind) when it can write the directory, or fails when it
 * cannot. So when a `-wal` file exists (a writer has the database open, or
 * left it so), the database is opened read-only through them; when none
 * exists (no writer has it open), it is opened `immutable=1`: SQLite then
 * reads the main file only and takes no locks. A writer that starts during
 * such a read may checkpoint into the file under it (SQLite may then report
 * a corrupt read, which a retry of the command clears); Nix checkpoints only
 * at 40000 pages or when its last connection closes.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Context, Effect, Layer, type Scope } from "effect"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type { StoreLayout } from "../../../core/storeLayout.js"
import { type BusyPolicy } from "./busy.js"
import {
  type CorruptInfoFileError,
  type CorruptSchemaFileError,
  type DatabaseBusyError,
  DbIoError,
  ReadOnlyStoreError,
  SchemaTooNewError,
  SchemaTooOldError,
  StoreDbError,
  StoreNotWritableError,
  UpgradeLockError
} from "../../../services/errors/database.js"
import { currentSchemaVersion, oldestUpgradableVersion, schemaStatements } from "./schema.js"
import { readSchemaVersion, writeSchemaVersion } from "./schemaFile.js"
import { makeTransactor, toStoreDbError, type Transactor } from "./transaction.js"
import { upgradeFromInfoFiles, upgradeSqlSchema } from "./upgrade.js"
import type { UpgradeProgress } from "../../../services/StoreDb.js"

/** Options for opening the database. */
export interface OpenDbOptions {
  readonly layout: StoreLayout
  /** Refuse writes. Also implied when the database directory is not writable. */
  readonly readOnly?: boolean | undefined
  /** `false` sets `synchronous = OFF` (Nix's fsync-metadata = false). Default true (NORMAL). */
  readonly fsyncMetadata?: boolean | undefined
  /** How long to wait for other processes holding the database lock. */
  readonly busyPolicy?: BusyPolicy | undefined
  /** SQLite's own busy_timeout in ms (blocks the event loop; keep it short). Default 20. */
  readonly busyTimeoutMillis?: number | undefined
  /** Upgrade progress reports (the CLI shows them). */
  readonly onProgress?: ((progress: UpgradeProgress) => void) | undefined
  /**
   * Runs the upgrade while holding the exclusive big lock (`<state>/db/big-lock`).
   * Without it the caller must already hold that lock when an upgrade can happen.
   */
  readonly upgradeLock?:
    | (<A, E, R>(upgrade: Effect.Effect<A, E, R>) => Effect.Effect<A, E | UpgradeLockError, R>)
    | undefined
  /** For a schema-5 upgrade: reads a `.drv`'s outputs (name → path), or undefined if unreadable. */
  readonly readDerivationOutputs?:
    | ((drvPath: string) => Effect.Effect<Readonly<Record<string, string>> | undefined>)
    | undefined
}

/** An open database. */
export interface OpenedDb {
  readonly sql: SqlClient.SqlClient
  readonly tx: Transactor
  readonly readOnly: boolean
  readonly dbFile: string
}

/** Errors of `openDb`. */
export type OpenDbError =
  | StoreDbError
  | DatabaseBusyError
  | SchemaTooNewError
  | SchemaTooOldError
  | CorruptSchemaFileError
  | CorruptInfoFileError
  | DbIoError
  | UpgradeLockError
  | ReadOnlyStoreError
  | StoreNotWritableError

// better-sqlite3 reads SQLITE_USE_URI once, when its addon loads (the first connection of the
// process): URI file names are needed for `immutable=1`. Only names starting with `file:` are
// affected; tsnix's database names are absolute paths.
if (process.env["SQLITE_USE_URI"] === undefined) process.env["SQLITE_USE_URI"] = "1"

/** A SQLite URI for `file`, opened immutable (`%`, `?` and `#` escaped). */
const immutableUri = (file: string): string =>
  `file:${file.replace(/[%?#]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"))}?immutable=1`

/** Whether this process may write `file` (an existing file). */
const isWritableFile = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.W_OK)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT"
  }
}

/** The nearest existing ancestor directory of `p` (whose permissions decide whether `p` can be made). */
export const nearestExistingDir = (p: string): string => {
  let cur = path.dirname(p)
  while (!fs.existsSync(cur)) {
    const up = path.dirname(cur)
    if (up === cur) break
    cur = up
  }
  return cur
}

/** Whether this process may create files in `dir`. */
export const isWritableDir = (dir: string): boolean => {
  try {
    fs.accessSync(dir, fs.constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** Creates the database directory (and parents); false when that is not permitted. */
const ensureDbDir = (dbDir: string): Effect.Effect<boolean, DbIoError> =>
  Effect.try({
    try: () => {
      try {
        fs.mkdirSync(dbDir, { recursive: true })
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === "EACCES" || code === "EROFS" || code === "EPERM") return false
        throw e
      }
      return isWritableDir(dbDir)
    },
    catch: (cause) => new DbIoError({ path: dbDir, operation: "creating", cause })
  })

/** Opens the SQLite client on `dbFile` with tsnix's pragmas. */
export const openClient = (
  dbFile: string,
  options: {
    readonly readOnly: boolean
    readonly fsyncMetadata: boolean
    readonly busyTimeoutMillis: number
    /** Read-only without `-wal`/`-shm`: SQLite's `immutable=1` (see the module comment). */
    readonly immutable?: boolean | undefined
  }
): Effect.Effect<SqlClient.SqlClient, StoreDbError, Scope.Scope> =>
  Effect.gen(function*() {
    const filename = options.readOnly && options.immutable === true ? immutableUri(dbFile) : dbFile
    const ctx = yield* Layer.build(
      SqliteClient.layer({ filename, readonly: options.readOnly, disableWAL: options.readOnly, prepareCacheSize: 500 })
    ).pipe(
      Effect.catchAll((cause) => Effect.fail(toStoreDbError(`opening ${dbFile}`)(cause))),
      Effect.catchAllDefect((cause) => Effect.fail(toStoreDbError(`opening ${dbFile}`)(cause)))
    )
    const sql = Context.get(ctx, SqlClient.SqlClient)
    const pragmas = [
      `PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMillis))}`,
      "PRAGMA foreign_keys = 1",
      // Statement journals (the undo log of one statement inside a transaction) in memory: a bulk
      // insert's would otherwise go to a temporary file, page by page (70k writes for 100k paths).
      "PRAGMA temp_store = MEMORY",
      ...(options.readOnly ? [] : [`PRAGMA synchronous = ${options.fsyncMetadata ? "NORMAL" : "OFF"}`])
    ]
    for (const p of pragmas) {
      yield* sql.unsafe(p).raw.pipe(Effect.mapError(toStoreDbError(`${p} on ${dbFile}`)))
    }
    return sql
  })

/** Creates the schema-10 tables (idempotent) in one write transaction. */
export const createSchema = (sql: SqlClient.SqlClient, tx: Transactor) =>
  tx.write(
    "creating the database schema",
    Effect.forEach(schemaStatements, (s) => sql.unsafe(s).raw, { discard: true })
  )

/**
 * Opens the database of a store: creates it (and its directories) when there is
 * none, refuses a newer schema, upgrades an older one (schema 5..9). An existing
 * schema-10 database is not written to by opening it.
 */
export const openDb = (options: OpenDbOptions): Effect.Effect<OpenedDb, OpenDbError, Scope.Scope> =>
  Effect.gen(function*() {
    const { dbDir } = options.layout
    const dbFile = path.join(dbDir, "db.sqlite")
    // Writable when the directory and an existing database file are (another user's store, or a
    // read-only mount, is opened read-only).
    const writable = options.readOnly === true ? false : (yield* ensureDbDir(dbDir)) && isWritableFile(dbFile)
    const readOnly = !writable
    const clientOptions = {
      readOnly,
      fsyncMetadata: options.fsyncMetadata ?? true,
      busyTimeoutMillis: options.busyTimeoutMillis ?? 20
    }
    const schemaFile = path.join(dbDir, "schema")
    const checkVersion = (v: number): Effect.Effect<number, SchemaTooNewError | SchemaTooOldError> =>
      v > currentSchemaVersion
        ? Effect.fail(new SchemaTooNewError({ schemaFile, version: v, supported: currentSchemaVersion }))
        : v > 0 && v < oldestUpgradableVersion
        ? Effect.fail(new SchemaTooOldError({ schemaFile, version: v }))
        : Effect.succeed(v)

    const version = yield* readSchemaVersion(dbDir).pipe(Effect.flatMap(checkVersion))

    if (readOnly) {
      if (version !== currentSchemaVersion && !(version === 0 && fs.existsSync(dbFile))) {
        if (version === 0 && options.readOnly !== true) {
          // Not asked to be read-only: the database cannot be created.
          const dir = fs.existsSync(dbDir) ? dbDir : nearestExistingDir(dbDir)
          return yield* new StoreNotWritableError({
            path: dir,
            creating: fs.existsSync(dbDir) ? dbFile : dbDir,
            code: "EACCES"
          })
        }
        return yield* Effect.fail(
          version === 0
            ? new StoreDbError({ operation: "opening", message: `no store database at ${dbFile} (read-only)` })
            : new ReadOnlyStoreError({ operation: `upgrade the store database from schema ${version}` })
        )
      }
      const sql = yield* openClient(dbFile, { ...clientOptions, immutable: !fs.existsSync(`${dbFile}-wal`) })
      return { sql, tx: makeTransactor(sql, { readOnly: true, ...busyPolicyOf(options) }), readOnly, dbFile }
    }

    if (version > 0 && version < currentSchemaVersion) {
      const upgrade = Effect.gen(function*() {
        // Another process may have finished the upgrade while we waited for the lock.
        const now = yield* readSchemaVersion(dbDir).pipe(Effect.flatMap(checkVersion))
        if (now === currentSchemaVersion) return
        yield* Effect.scoped(Effect.gen(function*() {
          const sql = yield* openClient(dbFile, clientOptions)
          const tx = makeTransactor(sql, { readOnly: false, ...busyPolicyOf(options) })
          if (now < 6) {
            yield* upgradeFromInfoFiles({
              layout: options.layout,
              sql,
              tx,
              onProgress: options.onProgress,
              readDerivationOutputs: options.readDerivationOutputs
            })
          } else {
            yield* upgradeSqlSchema(sql, tx, now, options.onProgress)
          }
        }))
        // Only after the commit: an interrupted upgrade is redone next time.
        yield* writeSchemaVersion(dbDir, currentSchemaVersion)
      })
      yield* options.upgradeLock ? options.upgradeLock(upgrade) : upgrade
    }

    const sql = yield* openClient(dbFile, clientOptions)
    const tx = makeTransactor(sql, { readOnly: false, ...busyPolicyOf(options) })
    if (version === 0) {
      yield* createSchema(sql, tx)
      yield* writeSchemaVersion(dbDir, currentSchemaVersion)
    }
    return { sql, tx, readOnly, dbFile }
  })

const busyPolicyOf = (options: OpenDbOptions): { busyPolicy?: BusyPolicy } =>
  options.busyPolicy ? { busyPolicy: options.busyPolicy } : {}

// Re-exported so callers can wrap their own lock errors.
export { UpgradeLockError }
