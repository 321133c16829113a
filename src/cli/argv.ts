/**
 * The command line, spelled as nix-store spells it.
 *
 * nix-store takes one operation flag (`--add`, `-q`/`--query`, `--gc`, …),
 * option flags that modify it (`--requisites`, `--include-outputs`, …) and
 * arguments, in any order. Combined short flags expand as in Nix: `-qR` is
 * `-q -R`. tsnix also accepts subcommand spellings (`tsnix hash …`,
 * `tsnix query requisites …`): a leading word names the operation.
 *
 * Pure: argv in, a {@link ParsedArgs} or a {@link UsageError} out.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"

/** What a flag is and whether it takes values. */
export interface FlagSpec {
  /** Canonical long name without dashes. */
  readonly name: string
  /** An operation flag selects what the command does; only one may be given. */
  readonly kind: "operation" | "flag" | "value" | "value2"
}

/** A command-line mistake; printed as `error: …` with a hint to use --help. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

const op = (name: string): FlagSpec => ({ name, kind: "operation" })
const flag = (name: string): FlagSpec => ({ name, kind: "flag" })
const value = (name: string): FlagSpec => ({ name, kind: "value" })

/** Every long flag tsnix understands, by its spelling without dashes. */
export const longFlags: ReadonlyMap<string, FlagSpec> = new Map<string, FlagSpec>(
  ([
    // operations (nix-store)
    op("add"),
    op("add-fixed"),
    op("query"),
    op("realise"),
    op("gc"),
    op("delete"),
    op("dump"),
    op("restore"),
    op("export"),
    op("import"),
    op("verify"),
    op("verify-path"),
    op("check-validity"),
    op("dump-db"),
    op("load-db"),
    op("register-validity"),
    op("query-failed-paths"),
    op("clear-failed-paths"),
    op("read-log"),
    op("optimise"),
    op("repair-path"),
    op("serve"),
    op("generate-binary-cache-key"),
    op("print-env"),
    // global
    flag("help"),
    flag("version"),
    flag("verbose"),
    flag("quiet"),
    value("store"),
    // global in nix-store: where -r puts its roots (--indirect is what Nix 2.8 always does)
    value("add-root"),
    flag("indirect"),
    flag("no-output"),
    { name: "option", kind: "value2" } as FlagSpec,
    // query modifiers
    flag("outputs"),
    flag("requisites"),
    flag("references"),
    flag("referrers"),
    flag("referrers-closure"),
    flag("deriver"),
    flag("valid-derivers"),
    flag("graph"),
    flag("tree"),
    flag("graphml"),
    flag("hash"),
    flag("size"),
    flag("roots"),
    flag("include-outputs"),
    flag("use-output"),
    flag("force-realise"),
    // as in nix-store, --binding takes its NAME from the first argument, wherever it stands
    flag("binding"),
    // other modifiers
    flag("recursive"),
    flag("check-contents"),
    flag("repair"),
    flag("reregister"),
    flag("hash-given"),
    flag("print-roots"),
    flag("print-live"),
    flag("print-dead"),
    value("max-freed"),
    flag("ignore-liveness"),
    flag("why-alive"),
    flag("print"),
    flag("print-invalid"),
    // tsnix path-info (as nix path-info)
    flag("json"),
    flag("closure-size"),
    flag("human-readable"),
    flag("sigs"),
    flag("derivation"),
    flag("all"),
    // tsnix hash
    value("type"),
    flag("base16"),
    flag("base32"),
    flag("base64"),
    flag("sri"),
    flag("flat"),
    flag("to-base16"),
    flag("to-base32"),
    flag("to-base64"),
    flag("to-sri"),
    // building (nix-store -r and the common build options)
    flag("check"),
    flag("dry-run"),
    flag("keep-failed"),
    flag("keep-going"),
    value("max-jobs"),
    value("cores"),
    value("timeout"),
    value("max-silent-time"),
    value("repeat"),
    // tsnix copy (as nix copy)
    value("from"),
    value("to"),
    flag("no-check-sigs"),
    // tsnix store sign|verify (as nix store sign|verify)
    flag("no-contents"),
    flag("no-trust"),
    value("sigs-needed"),
    value("key-file"),
    value("substituter"),
    // tsnix serve (the HTTP binary cache server)
    value("listen"),
    value("secret-key"),
    value("priority"),
    value("compression"),
    // tsnix daemon
    value("socket"),
    flag("stdio")
  ] satisfies Array<FlagSpec>).map((s) => [s.name, s])
)

/** Flags nix-store accepts with any operation (`--indirect` is a no-op in Nix 2.8, as here). */
export const globalFlags: ReadonlySet<string> = new Set(["indirect", "no-output", "keep-failed", "keep-going"])

/** Short flags → long spelling, as nix-store defines them. */
export const shortFlags: ReadonlyMap<string, string> = new Map([
  ["q", "query"],
  ["r", "realise"],
  ["A", "add"],
  ["l", "read-log"],
  ["R", "requisites"],
  ["d", "deriver"],
  ["b", "binding"],
  ["f", "force-realise"],
  ["u", "use-output"],
  ["v", "verbose"],
  ["h", "help"],
  // the common build options
  ["j", "max-jobs"],
  ["K", "keep-failed"],
  ["k", "keep-going"]
])

/** Short flags of `tsnix path-info`, as `nix path-info` defines them (`-h` is not --help there). */
const pathInfoShortFlags: ReadonlyMap<string, string> = new Map([
  ["r", "recursive"],
  ["s", "size"],
  ["S", "closure-size"],
  ["h", "human-readable"]
])

/** Short flags of `tsnix store sign|verify`, as `nix store sign|verify` define them. */
const storeShortFlags: ReadonlyMap<string, string> = new Map([
  ["r", "recursive"],
  ["n", "sigs-needed"],
  ["k", "key-file"],
  ["s", "substituter"]
])

/** Subcommand words and the operation they select. */
export const subcommands: ReadonlyMap<string, string> = new Map([
  ["hash", "hash"],
  ["show-derivation", "show-derivation"],
  ["derivation", "derivation"],
  ["query", "query"],
  ["gc", "gc"],
  ["add", "add"],
  ["add-fixed", "add-fixed"],
  ["dump", "dump"],
  ["restore", "restore"],
  ["export", "export"],
  ["import", "import"],
  ["verify", "verify"],
  ["verify-path", "verify-path"],
  ["delete", "delete"],
  ["dump-db", "dump-db"],
  ["load-db", "load-db"],
  ["register-validity", "register-validity"],
  ["path-info", "path-info"],
  ["demo", "demo"],
  ["copy", "copy"],
  ["store", "store"],
  ["serve", "serve"],
  ["help", "help"],
  ["version", "version"],
  ["daemon", "daemon"]
])

/** Query sub-operations accepted as words after `tsnix query`. */
const queryWords: ReadonlySet<string> = new Set([
  "outputs",
  "requisites",
  "references",
  "referrers",
  "referrers-closure",
  "deriver",
  "valid-derivers",
  "binding",
  "graph",
  "graphml",
  "tree",
  "hash",
  "size",
  "roots"
])

/** The parsed command line. */
export interface ParsedArgs {
  /** The operation (long name of the operation flag, or the subcommand), if any. */
  readonly operation: string | undefined
  /** Modifier flags, canonical long names. */
  readonly flags: ReadonlySet<string>
  /** Flags with one value (last one wins). */
  readonly values: ReadonlyMap<string, string>
  /** `--option NAME VALUE` pairs, in order. */
  readonly options: ReadonlyArray<readonly [string, string]>
  /** Positional arguments. */
  readonly args: ReadonlyArray<string>
  /** How many times `-v`/`--verbose` was given. */
  readonly verbosity: number
}

/** Expands `-abc` into `-a -b -c`, as Nix does for any single-dash argument longer than two characters. */
export const expandShortFlags = (argv: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  let rest = false
  for (const a of argv) {
    if (rest) out.push(a)
    else if (a === "--") {
      rest = true
      out.push(a)
    } else if (a.length > 2 && a[0] === "-" && a[1] !== "-" && /^-[a-zA-Z]+$/.test(a)) {
      for (const c of a.slice(1)) out.push(`-${c}`)
    } else out.push(a)
  }
  return out
}

/**
 * Parses argv (without `node` and the script). Flags and arguments may be
 * interleaved; `--` ends flag parsing.
 */
export const parseArgv = (argv: ReadonlyArray<string>): Either.Either<ParsedArgs, UsageError> => {
  const items = expandShortFlags(argv)
  let operation: string | undefined
  const flags = new Set<string>()
  const values = new Map<string, string>()
  const options: Array<readonly [string, string]> = []
  const args: Array<string> = []
  let verbosity = 0
  let onlyArgs = false
  const setOperation = (name: string): UsageError | undefined => {
    if (operation !== undefined && operation !== name) {
      return new UsageError({ message: `only one operation may be specified` })
    }
    operation = name
    return undefined
  }
  for (let i = 0; i < items.length; i++) {
    const a = items[i] as string
    if (onlyArgs || a === "-" || !a.startsWith("-")) {
      if (!onlyArgs && operation === undefined && args.length === 0 && subcommands.has(a)) {
        const err = setOperation(subcommands.get(a) as string)
        if (err) return Either.left(err)
        continue
      }
      if (!onlyArgs && operation === "query" && args.length === 0 && queryWords.has(a) && flags.size === 0) {
        flags.add(a)
        continue
      }
      args.push(a)
      continue
    }
    if (a === "--") {
      onlyArgs = true
      continue
    }
    let name: string
    let inline: string | undefined
    if (a.startsWith("--")) {
      const eq = a.indexOf("=")
      name = eq > 0 ? a.slice(2, eq) : a.slice(2)
      inline = eq > 0 ? a.slice(eq + 1) : undefined
    } else {
      // `show-derivation -r` (and `derivation show -r`) is --recursive, as in `nix show-derivation -r`, not --realise.
      const showing = operation === "show-derivation" || (operation === "derivation" && args[0] === "show")
      const long = operation === "path-info" && pathInfoShortFlags.has(a.slice(1))
        ? pathInfoShortFlags.get(a.slice(1))
        : operation === "store" && storeShortFlags.has(a.slice(1))
        ? storeShortFlags.get(a.slice(1))
        : a === "-r" && showing
        ? "recursive"
        : shortFlags.get(a.slice(1))
      if (long === undefined) return Either.left(new UsageError({ message: `unrecognised flag '${a}'` }))
      name = long
    }
    const spec = longFlags.get(name)
    if (spec === undefined) return Either.left(new UsageError({ message: `unrecognised flag '${a}'` }))
    switch (spec.kind) {
      case "operation": {
        const err = setOperation(spec.name)
        if (err) return Either.left(err)
        break
      }
      case "flag":
        if (spec.name === "verbose") verbosity++
        else flags.add(spec.name)
        break
      case "value": {
        const v = inline ?? items[++i]
        if (v === undefined) return Either.left(new UsageError({ message: `flag '${a}' requires 1 argument` }))
        values.set(spec.name, v)
        break
      }
      case "value2": {
        const n = items[++i]
        const v = items[++i]
        if (n === undefined || v === undefined) {
          return Either.left(new UsageError({ message: `flag '${a}' requires 2 arguments` }))
        }
        options.push([n, v])
        break
      }
    }
  }
  return Either.right({ operation, flags, values, options, args, verbosity })
}
