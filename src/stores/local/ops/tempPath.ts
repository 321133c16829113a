/**
 * Temporary names inside the real store directory, where new objects are
 * written before they are renamed into place (same file system, so the rename
 * is atomic).
 *
 * Nix 2.8's collector deletes every entry of the store directory that is not
 * named like a store path, and every invalid store path that is not a
 * temporary root. So a temporary is named like a store path,
 * `<32 random nix32 characters>-tsnix-tmp-<pid>-<random>`, and made a
 * temporary root of this process before it is created: Nix's collector (and
 * tsnix's) keeps it while this process lives. The random hash part (160 bits)
 * cannot collide with a real path. The name carries the owner's pid, so that
 * leftovers of dead processes are recognised and removed. Older tsnix named
 * temporaries `.tsnix-tmp-<pid>-<random>`; those are still recognised.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import { encodeNix32, nix32Alphabet } from "../../../core/nix32.js"
import type { StoreLayout } from "../../../core/storeLayout.js"
import type { LockError, LockShape } from "../../../services/Lock.js"
import { removeTree } from "./removeTree.js"

/** Prefix of the temporary entries older tsnix created in the real store directory. */
export const tempPrefix = ".tsnix-tmp-"

/** What follows the random hash part in the name of a tsnix temporary entry. */
export const tempInfix = "-tsnix-tmp-"

/** 20 random bytes in nix32: a hash part no real path will have. */
const randomHashPart = (): string => encodeNix32(randomBytes(20))

/** The base name of a fresh temporary entry (not created). */
export const makeTempName = (): string =>
  `${randomHashPart()}${tempInfix}${process.pid}-${randomBytes(6).toString("hex")}`

/** A fresh temporary path in the store directory (not created, not rooted). */
export const makeTempPath = (layout: StoreLayout): string => path.join(layout.realStoreDir, makeTempName())

const newName = new RegExp(`^[${nix32Alphabet}]{32}${tempInfix}([0-9]+)-`)

/** The pid that owns a temporary entry name, if the name is one of tsnix's (new or old form). */
export const tempPathOwner = (name: string): number | undefined => {
  let digits: string | undefined
  if (name.startsWith(tempPrefix)) digits = /^[0-9]+/.exec(name.slice(tempPrefix.length))?.[0]
  else digits = newName.exec(name)?.[1]
  if (digits === undefined) return undefined
  const pid = Number.parseInt(digits, 10)
  return Number.isSafeInteger(pid) ? pid : undefined
}

/** Whether `name` is a tsnix temporary entry (of any process). */
export const isTempName = (name: string): boolean => tempPathOwner(name) !== undefined

/**
 * A fresh temporary path in the store directory, already a temporary root of
 * this process (so no collector, Nix's or tsnix's, deletes it while this
 * process lives). Not created.
 */
export const makeRootedTempPath = (layout: StoreLayout, lock: LockShape): Effect.Effect<string, LockError> => {
  const name = makeTempName()
  return lock.addTempRoot(`${layout.storeDir}/${name}`).pipe(Effect.as(path.join(layout.realStoreDir, name)))
}

/**
 * A rooted temporary path (see {@link makeRootedTempPath}) that is removed (if
 * it still exists) when the scope closes: on success after it has been
 * renamed away nothing is left to do.
 */
export const scopedTempPath = (layout: StoreLayout, lock: LockShape) =>
  Effect.acquireRelease(makeRootedTempPath(layout, lock), (p) => Effect.ignore(removeTree(p)))
