/**
 * The `<state>/db/schema` version file.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { CorruptSchemaFileError, DbIoError } from "../../../services/errors/database.js"

/** Path of the schema version file in a database directory. */
export const schemaFilePath = (dbDir: string): string => path.join(dbDir, "schema")

/** Reads the version (0 when the file does not exist, as Nix does). */
export const readSchemaVersion = (dbDir: string): Effect.Effect<number, CorruptSchemaFileError | DbIoError> =>
  Effect.suspend((): Effect.Effect<number, CorruptSchemaFileError | DbIoError> => {
    const file = schemaFilePath(dbDir)
    let text: string
    try {
      text = fs.readFileSync(file, "utf8")
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return Effect.succeed(0)
      return Effect.fail(new DbIoError({ path: file, operation: "reading", cause }))
    }
    const trimmed = text.trim()
    if (!/^[0-9]{1,9}$/.test(trimmed)) {
      return Effect.fail(new CorruptSchemaFileError({ schemaFile: file, content: text }))
    }
    return Effect.succeed(Number(trimmed))
  })

/** Writes the version atomically (temporary file + rename), as the bare number like Nix ("10"). */
export const writeSchemaVersion = (dbDir: string, version: number): Effect.Effect<void, DbIoError> =>
  Effect.try({
    try: () => {
      const file = schemaFilePath(dbDir)
      const tmp = `${file}.tmp-${process.pid}`
      fs.writeFileSync(tmp, String(version))
      fs.renameSync(tmp, file)
    },
    catch: (cause) => new DbIoError({ path: schemaFilePath(dbDir), operation: "writing", cause })
  })
