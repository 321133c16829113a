/**
 * User and group names for the daemon's trust decisions (Nix 2.8's
 * `matchUser`): `/etc/passwd` and `/etc/group` are read for each decision.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"

/** A user's name and the names of the groups they are in (primary first). */
export interface UserInfo {
  readonly name: string | undefined
  readonly groups: ReadonlyArray<string>
  readonly primaryGroup: string | undefined
}

const readLines = (file: string): Array<Array<string>> => {
  try {
    return fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) =>
      l.split(":")
    )
  } catch {
    return []
  }
}

/** The user with `uid` and primary group `gid` (names undefined when unknown). */
export const lookupUser = (uid: number, gid: number): UserInfo => {
  const pw = readLines("/etc/passwd").find((f) => Number(f[2]) === uid)
  const groups = readLines("/etc/group")
  const primary = groups.find((f) => Number(f[2]) === gid)?.[0]
  const name = pw?.[0]
  const member = name === undefined
    ? []
    : groups.filter((f) => (f[3] ?? "").split(",").includes(name)).map((f) => f[0] as string)
  return { name, primaryGroup: primary, groups: [...(primary === undefined ? [] : [primary]), ...member] }
}

/** Nix's matchUser: `*`, the user's name, or `@group` of one of their groups. */
export const matchUser = (user: UserInfo, patterns: ReadonlyArray<string>): boolean =>
  patterns.some((p) =>
    p === "*" || (user.name !== undefined && p === user.name) || (p.startsWith("@") && user.groups.includes(p.slice(1)))
  )
