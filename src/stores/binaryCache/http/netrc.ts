/**
 * `.netrc` files (what curl, and so Nix's `netrc-file`, reads): the login
 * and password for a host. Tokens are separated by white space; `machine
 * NAME`, `default`, `login`, `password`, `account` and `macdef` (whose body,
 * up to an empty line, is skipped) as in curl's parser.
 *
 * @since 0.1.0
 */

/** One entry: `host` undefined for `default`. */
export interface NetrcEntry {
  readonly host: string | undefined
  readonly login: string | undefined
  readonly password: string | undefined
}

/** Parses a netrc file's text into its entries, in order. */
export const parseNetrc = (text: string): ReadonlyArray<NetrcEntry> => {
  const entries: Array<NetrcEntry> = []
  let current: { host: string | undefined; login: string | undefined; password: string | undefined } | undefined
  const lines = text.split("\n")
  let tokens: Array<string> = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (line.trimStart().startsWith("#")) continue
    const words = line.split(/\s+/).filter((w) => w !== "")
    if (words[0] === "macdef") {
      // a macro definition runs up to the next empty line
      while (i + 1 < lines.length && (lines[i + 1] as string).trim() !== "") i++
      continue
    }
    tokens = tokens.concat(words)
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string
    if (t === "machine" || t === "default") {
      if (current !== undefined) entries.push(current)
      current = { host: t === "machine" ? tokens[++i] : undefined, login: undefined, password: undefined }
    } else if (current !== undefined && (t === "login" || t === "password" || t === "account")) {
      const v = tokens[++i]
      if (t === "login") current.login = v
      else if (t === "password") current.password = v
    }
  }
  if (current !== undefined) entries.push(current)
  return entries
}

/** The entry for `host`: its `machine` entry, else `default`, else undefined. */
export const netrcFor = (entries: ReadonlyArray<NetrcEntry>, host: string): NetrcEntry | undefined =>
  entries.find((e) => e.host === host) ?? entries.find((e) => e.host === undefined)
