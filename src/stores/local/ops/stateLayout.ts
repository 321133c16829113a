/**
 * The directories and files Nix 2.8's LocalStore constructor makes sure of,
 * on every opening that may write: the real store directory and its `.links`,
 * `profiles/`, `temproots/`, `db/`, `gcroots/` (with the `profiles` link when
 * `gcroots/` is new), `profiles/per-user` and `gcroots/per-user` (mode 0755),
 * the user's own `per-user/NAME` directories (0755, owned by the user), and
 * `db/reserved` (8 MiB, mode 0600: space to free before a garbage collection
 * when the disk is full). `db/big-lock`, `db/db.sqlite` and `db/schema` come
 * from the lock and the database.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DbIoError, StoreNotWritableError, SymlinkedStoreError } from "../../../services/errors/database.js"
import { nearestExistingDir } from "../db/open.js"
import type { StoreLayout } from "../../../core/storeLayout.js"

/** Nix 2.8's default `reserved-size`: 8 MiB. */
export const reservedSize = 8 * 1024 * 1024

/** Errors of {@link ensureStateLayout}. */
export type StateLayoutError = StoreNotWritableError | DbIoError | SymlinkedStoreError

const errnoOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const isPermission = (code: string | undefined): code is string =>
  code === "EACCES" || code === "EPERM" || code === "EROFS"

/** Nix's getUserName: the passwd name of this uid, else `$USER`; undefined if neither is known. */
const userName = (): string | undefined => {
  try {
    const name = os.userInfo().username
    if (name !== "") return name
  } catch {
    // No passwd entry for this uid.
  }
  const env = process.env["USER"]
  return env !== undefined && env !== "" ? env : undefined
}

/** Runs one file-system step; a permission failure names the directory that refused it. */
const step = (target: string, operation: string, f: () => void): Effect.Effect<void, StateLayoutError> =>
  Effect.try({
    try: f,
    catch: (cause) => {
      const code = errnoOf(cause)
      return isPermission(code)
        ? new StoreNotWritableError({
          path: fs.existsSync(target) ? target : nearestExistingDir(target),
          creating: target,
          code
        })
        : new DbIoError({ path: target, operation, cause })
    }
  })

const mkdirs = (dir: string) => step(dir, "creating", () => fs.mkdirSync(dir, { recursive: true }))

/** Creates what Nix 2.8 creates when it opens a local store it may write (see the module comment). */
export const ensureStateLayout = (layout: StoreLayout): Effect.Effect<void, StateLayoutError> =>
  Effect.gen(function*() {
    const { stateDir, dbDir, realStoreDir } = layout
    yield* mkdirs(realStoreDir)
    yield* mkdirs(path.join(realStoreDir, ".links"))
    const profilesDir = path.join(stateDir, "profiles")
    yield* mkdirs(profilesDir)
    yield* mkdirs(path.join(stateDir, "temproots"))
    yield* mkdirs(dbDir)
    const gcRootsDir = path.join(stateDir, "gcroots")
    if (!fs.existsSync(gcRootsDir)) {
      yield* mkdirs(gcRootsDir)
      const link = path.join(gcRootsDir, "profiles")
      yield* step(link, "creating symlink", () => fs.symlinkSync(profilesDir, link))
    }
    for (const perUser of [path.join(profilesDir, "per-user"), path.join(gcRootsDir, "per-user")]) {
      yield* mkdirs(perUser)
      yield* step(perUser, "setting permissions on", () => fs.chmodSync(perUser, 0o755))
    }
    const name = userName()
    if (name !== undefined) {
      for (const dir of [path.join(profilesDir, "per-user", name), path.join(gcRootsDir, "per-user", name)]) {
        yield* mkdirs(dir)
        yield* step(dir, "setting permissions on", () => fs.chmodSync(dir, 0o755))
        yield* step(
          dir,
          "changing owner of",
          () => fs.chownSync(dir, process.getuid?.() ?? -1, process.getgid?.() ?? -1)
        )
      }
    }
    // As Nix 2.8: neither the store nor a parent may be a symlink (unless NIX_IGNORE_SYMLINK_STORE=1,
    // Nix's default for `allow-symlinked-store`).
    if (process.env["NIX_IGNORE_SYMLINK_STORE"] !== "1") {
      for (let p = path.resolve(realStoreDir); p !== path.dirname(p); p = path.dirname(p)) {
        const st = yield* Effect.try({
          try: () => fs.lstatSync(p),
          catch: (cause) => new DbIoError({ path: p, operation: "getting status of", cause })
        })
        if (st.isSymbolicLink()) return yield* new SymlinkedStoreError({ path: p })
      }
    }
    // Nix ignores every error here ("don't care about errors").
    const reserved = path.join(dbDir, "reserved")
    yield* Effect.sync(() => {
      try {
        if (fs.statSync(reserved, { throwIfNoEntry: false })?.size === reservedSize) return
        const fd = fs.openSync(reserved, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o600)
        try {
          fs.writeSync(fd, Buffer.alloc(reservedSize), 0, reservedSize, 0)
          fs.ftruncateSync(fd, reservedSize)
        } finally {
          fs.closeSync(fd)
        }
      } catch {
        // As Nix: the reserve is only a convenience.
      }
    })
  })
