/**
 * Upgrades of older store databases to schema 10 (FailedPaths kept where there are failed paths).
 *
 * Each upgrade runs in ONE write transaction; the caller writes the schema
 * file only after the commit, so an interrupted upgrade loses nothing and is
 * simply redone. Schema-5 info files are only read, never deleted.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Either } from "effect"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { PathRegistration } from "../../../services/StoreDb.js"
import type { StoreLayout } from "../../../core/storeLayout.js"
import { CorruptInfoFileError, DanglingReferenceError, DbIoError } from "../../../services/errors/database.js"
import { parseInfoFile } from "./infoFiles.js"
import { registerBatch } from "./register.js"
import { failedPathsStatement, hasFailedPathsQuery, laterValidPathsColumns, schemaStatements } from "./schema.js"
import type { Transactor } from "./transaction.js"

import type { UpgradeProgress } from "../../../services/StoreDb.js"

/** Brings a SQLite database of schema 6..9 to schema 10 (adds missing columns; a schema 6..8 FailedPaths table is kept). */
export const upgradeSqlSchema = (
  sql: SqlClient.SqlClient,
  tx: Transactor,
  fromVersion: number,
  onProgress?: (p: UpgradeProgress) => void
) =>
  tx.write(
    `upgrading the store database from schema ${fromVersion}`,
    Effect.gen(function*() {
      onProgress?.({ phase: "altering-schema", done: 0, total: 1 })
      const cols = yield* sql.unsafe<{ name: string }>("pragma table_info(ValidPaths)")
      const have = new Set(cols.map((c) => c.name))
      for (const [name, type] of laterValidPathsColumns) {
        if (!have.has(name)) yield* sql.unsafe(`alter table ValidPaths add column ${name} ${type}`).raw
      }
      for (const s of schemaStatements) yield* sql.unsafe(s).raw
      onProgress?.({ phase: "done", done: 1, total: 1 })
    })
  )

const readDirOrEmpty = (dir: string): Effect.Effect<ReadonlyArray<string>, DbIoError> =>
  Effect.try({
    try: () => {
      try {
        return fs.readdirSync(dir).sort()
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return []
        throw e
      }
    },
    catch: (cause) => new DbIoError({ path: dir, operation: "listing", cause })
  })

/** Options of the schema-5 upgrade. */
export interface InfoFilesUpgradeOptions {
  readonly layout: StoreLayout
  readonly sql: SqlClient.SqlClient
  readonly tx: Transactor
  readonly onProgress?: ((p: UpgradeProgress) => void) | undefined
  readonly readDerivationOutputs?:
    | ((drvPath: string) => Effect.Effect<Readonly<Record<string, string>> | undefined>)
    | undefined
}

/**
 * Migrates a schema-5 store (`db/info/*`, `db/failed/*` text files) into a fresh
 * schema-10 database in one transaction. Re-running it after an interruption
 * starts over from the info files (the tables are emptied first).
 */
export const upgradeFromInfoFiles = (options: InfoFilesUpgradeOptions) =>
  Effect.gen(function*() {
    const { layout, sql, tx, onProgress } = options
    const infoDir = path.join(layout.dbDir, "info")
    const failedDir = path.join(layout.dbDir, "failed")
    const names = yield* readDirOrEmpty(infoDir)
    const infos: Array<PathRegistration> = []
    const fileOf = new Map<string, string>()
    for (let n = 0; n < names.length; n++) {
      const name = names[n]!
      const file = path.join(infoDir, name)
      const text = yield* Effect.try({
        try: () => fs.readFileSync(file, "utf8"),
        catch: (cause) => new DbIoError({ path: file, operation: "reading", cause })
      })
      const parsed = parseInfoFile(text)
      if (Either.isLeft(parsed)) return yield* new CorruptInfoFileError({ file, reason: parsed.left })
      const info = parsed.right
      const storePath = `${layout.storeDir}/${name}`
      const outputs = name.endsWith(".drv") && options.readDerivationOutputs
        ? yield* options.readDerivationOutputs(storePath)
        : undefined
      fileOf.set(storePath, file)
      infos.push({
        path: storePath,
        narHash: info.hash,
        narSize: 0,
        references: info.references,
        deriver: info.deriver,
        registrationTime: info.registrationTime,
        derivationOutputs: outputs
      })
      if (n % 1000 === 0) onProgress?.({ phase: "reading-info-files", done: n, total: names.length })
    }
    onProgress?.({ phase: "reading-info-files", done: names.length, total: names.length })
    const failedNames = yield* readDirOrEmpty(failedDir)
    const failed = yield* Effect.forEach(failedNames, (name) =>
      Effect.try({
        try: () =>
          [`${layout.storeDir}/${name}`, Math.floor(fs.statSync(path.join(failedDir, name)).mtimeMs / 1000)] as const,
        catch: (cause) => new DbIoError({ path: path.join(failedDir, name), operation: "reading", cause })
      }))
    yield* tx.write(
      "upgrading the store database from schema 5",
      Effect.gen(function*() {
        for (const s of schemaStatements) yield* sql.unsafe(s).raw
        const hasFailed = ((yield* sql.unsafe<{ n: number }>(hasFailedPathsQuery))[0]?.n ?? 0) > 0
        for (const t of ["Refs", "DerivationOutputs", "ValidPaths", ...(hasFailed ? ["FailedPaths"] : [])]) {
          yield* sql.unsafe(`delete from ${t}`).raw
        }
        yield* registerBatch(sql, infos, {
          checkCycles: false,
          onProgress: (done, total) => onProgress?.({ phase: "registering", done, total })
        }).pipe(Effect.catchTag("ReferenceCycleError", (e) => Effect.die(e))) // not checked here
        if (failed.length > 0) {
          yield* sql.unsafe(failedPathsStatement()).raw
          yield* sql.unsafe(
            "insert or replace into FailedPaths (path, time) select j.value ->> 0, j.value ->> 1 from json_each(?) j",
            [JSON.stringify(failed)]
          ).raw
        }
      }).pipe(
        Effect.catchTag("DanglingReferenceError", (e: DanglingReferenceError) =>
          Effect.fail(
            new CorruptInfoFileError({
              file: fileOf.get(e.path) ?? e.path,
              reason: `reference ${e.reference} has no info file`
            })
          ))
      )
    )
    onProgress?.({ phase: "done", done: infos.length, total: infos.length })
  })
