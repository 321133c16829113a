/**
 * Build logs where Nix 2.8 keeps them: `<logDir>/drvs/<2 chars>/<rest of the
 * drv basename>` plus `.bz2` when compressed (bzip2, 900k blocks, via
 * compressjs). Reading tries the plain and compressed names, then the flat
 * `drvs/<basename>` layout, as Nix's `getBuildLog` does.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import Bzip2 from "compressjs/lib/Bzip2.js"
import * as fs from "node:fs"
import * as path from "node:path"
import { BuilderStoreError } from "../services/Builder.js"

/** The log file of a derivation (without `.bz2`). */
export const logFilePath = (logDir: string, drvPath: string): string => {
  const base = path.posix.basename(drvPath)
  return path.join(logDir, "drvs", base.slice(0, 2), base.slice(2))
}

/**
 * Inputs up to this size fit in one block of the smallest block size (100 kB less bzip2's margin,
 * halved for the run-length stage's growth), so their level-1 and level-9 streams differ only in
 * the header's level digit.
 */
const oneSmallBlock = 48 * 1024

/**
 * bzip2-compresses bytes, level 9 (as Nix's logs are). A short log (most are) is compressed at
 * level 1 and its header digit set to 9: the same bytes, without allocating compressjs's
 * 900 kB block buffers for it.
 */
export const bzip2 = (data: Uint8Array): Uint8Array => {
  if (data.length > oneSmallBlock) return Uint8Array.from(Bzip2.compressFile(data, null, 9))
  const out = Uint8Array.from(Bzip2.compressFile(data, null, 1))
  out[3] = 0x39 // "BZh1" -> "BZh9"
  return out
}

/** Decompresses bzip2 bytes. */
export const bunzip2 = (data: Uint8Array): Uint8Array => Uint8Array.from(Bzip2.decompressFile(data))

/** Writes a finished build's log (compressed or not), replacing any older one; written whole, then renamed. */
export const writeLog = (
  logDir: string,
  drvPath: string,
  data: Uint8Array,
  compress: boolean
): Effect.Effect<void, BuilderStoreError> =>
  Effect.try({
    try: () => {
      const file = logFilePath(logDir, drvPath) + (compress ? ".bz2" : "")
      fs.mkdirSync(path.dirname(file), { recursive: true })
      const tmp = `${file}.tmp-${process.pid}`
      fs.writeFileSync(tmp, compress ? bzip2(data) : data)
      fs.renameSync(tmp, file)
    },
    catch: (cause) => new BuilderStoreError({ operation: `writing the build log of '${drvPath}'`, cause })
  })

/** Reads the log of a derivation, if any (decompressed). */
export const readLog = (logDir: string, drvPath: string): Effect.Effect<Option.Option<Uint8Array>, BuilderStoreError> =>
  Effect.try({
    try: () => {
      const base = path.posix.basename(drvPath)
      for (const file of [logFilePath(logDir, drvPath), path.join(logDir, "drvs", base)]) {
        for (const compressed of [false, true]) {
          const f = compressed ? file + ".bz2" : file
          if (!fs.existsSync(f)) continue
          const bytes = fs.readFileSync(f)
          return Option.some(compressed ? bunzip2(bytes) : new Uint8Array(bytes))
        }
      }
      return Option.none()
    },
    catch: (cause) => new BuilderStoreError({ operation: `reading the build log of '${drvPath}'`, cause })
  })
