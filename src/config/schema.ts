/**
 * The typed settings of tsnix, in one place.
 *
 * Settings come from `NIX_CONFIG` (nix.conf syntax) and `--option NAME VALUE`,
 * with Nix's spellings. Each known setting has a Schema that decodes its text
 * form; settings that Nix knows but tsnix does not use are accepted silently;
 * anything else is reported as unknown (the CLI warns once).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** Nix's boolean spelling: exactly `true` or `false`. */
export const NixBool = Schema.transform(Schema.Literal("true", "false"), Schema.Boolean, {
  strict: true,
  decode: (s) => s === "true",
  encode: (b) => (b ? "true" : "false")
})

/** A non-negative integer written in decimal. */
export const NixUInt = Schema.compose(Schema.NumberFromString, Schema.Int.pipe(Schema.nonNegative()))

/** A list setting: words separated by whitespace (Nix's Strings settings). */
export const NixStrings = Schema.transform(Schema.String, Schema.Array(Schema.String), {
  strict: true,
  decode: (s) => s.split(/\s+/).filter((w) => w !== ""),
  encode: (ws) => ws.join(" ")
})

/** The resolved settings record. */
export const Settings = Schema.Struct({
  /** `keep-outputs`: a live derivation keeps its valid outputs alive. */
  keepOutputs: NixBool,
  /** `keep-derivations`: a live output keeps its valid derivers alive. */
  keepDerivations: NixBool,
  /** `fsync-metadata`: SQLite synchronous=NORMAL when true, OFF when false. */
  fsyncMetadata: NixBool,
  /** `read-only`: open the store database read-only; every write fails. */
  readOnly: NixBool,
  /** `gc-runtime-roots`: treat store paths used by running processes as roots (Linux). */
  gcRuntimeRoots: NixBool,
  /** `db-busy-max-wait`: seconds to keep retrying a busy database before failing. */
  dbBusyMaxWait: NixUInt,
  /** `auto-optimise-store`: hard-link identical files through `.links` as paths are added. */
  autoOptimiseStore: NixBool,
  // The builder's settings (issue 14).
  /** `max-jobs`: builds at once (`auto`: the number of CPUs). */
  maxJobs: Schema.Union(Schema.Literal("auto"), NixUInt),
  /** `cores`: NIX_BUILD_CORES (0: all CPUs). */
  cores: NixUInt,
  /** `timeout`: seconds a build may run (0: no limit). */
  timeout: NixUInt,
  /** `max-silent-time`: seconds a build may be silent (0: no limit). */
  maxSilentTime: NixUInt,
  /** `keep-failed`: keep the build directory of failed builds. */
  keepFailed: NixBool,
  /** `keep-going`: go on with other builds after a failure. */
  keepGoing: NixBool,
  /** `build-cache-failure`: record failed builds in FailedPaths and refuse them until cleared. */
  buildCacheFailure: NixBool,
  /** `sandbox`: `true`, `false` or `relaxed`. */
  sandbox: Schema.Literal("true", "false", "relaxed"),
  /** `sandbox-fallback`: build unsandboxed when the sandbox cannot run (not for chroot stores). */
  sandboxFallback: NixBool,
  /** `sandbox-paths`: space-separated `path`, `from=to`, `path?` entries. */
  sandboxPaths: Schema.String,
  /** `keep-build-log`. */
  keepBuildLog: NixBool,
  /** `compress-build-log` (bzip2). */
  compressBuildLog: NixBool,
  /** `max-build-log-size` in bytes (0: unlimited). */
  maxBuildLogSize: NixUInt,
  // Substitution and binary caches (issue 15)
  /** `substituters` (alias `binary-caches`): the caches to substitute from, by priority. */
  substituters: NixStrings,
  /** `trusted-substituters` (alias `trusted-binary-caches`). */
  trustedSubstituters: NixStrings,
  /** `trusted-public-keys` (alias `binary-cache-public-keys`): `name:base64` keys whose signatures are trusted. */
  trustedPublicKeys: NixStrings,
  /** `require-sigs`: paths from elsewhere need a trusted signature (or a content address). */
  requireSigs: NixBool,
  /** `substitute`: use substituters at all. */
  substitute: NixBool,
  /** `secret-key-files`: keys that sign locally built paths (their public halves are trusted too). */
  secretKeyFiles: NixStrings,
  // Builder features (issues 14/15)
  /** `post-build-hook`: a program run after each successful build ("" for none). */
  postBuildHook: Schema.String,
  /** `repeat` (alias `build-repeat`): build each derivation this many more times and compare. */
  repeat: NixUInt,
  /** `enforce-determinism`: a repeated build that differs fails. */
  enforceDeterminism: NixBool
})

/** The resolved settings. */
export type Settings = typeof Settings.Type

/** Text form of every known setting: what `--option` and NIX_CONFIG supply. */
export type SettingsText = typeof Settings.Encoded

/** Setting names (Nix spelling) → field of {@link Settings}. Aliases included. */
export const settingNames: Readonly<Record<string, keyof Settings>> = {
  "keep-outputs": "keepOutputs",
  "gc-keep-outputs": "keepOutputs",
  "keep-derivations": "keepDerivations",
  "gc-keep-derivations": "keepDerivations",
  "fsync-metadata": "fsyncMetadata",
  "read-only": "readOnly",
  "gc-runtime-roots": "gcRuntimeRoots",
  "db-busy-max-wait": "dbBusyMaxWait",
  "auto-optimise-store": "autoOptimiseStore",
  // builder (issue 14)
  "max-jobs": "maxJobs",
  "build-max-jobs": "maxJobs",
  cores: "cores",
  "build-cores": "cores",
  timeout: "timeout",
  "build-timeout": "timeout",
  "max-silent-time": "maxSilentTime",
  "build-max-silent-time": "maxSilentTime",
  "keep-failed": "keepFailed",
  "keep-going": "keepGoing",
  "build-cache-failure": "buildCacheFailure",
  sandbox: "sandbox",
  "build-use-sandbox": "sandbox",
  "build-use-chroot": "sandbox",
  "sandbox-fallback": "sandboxFallback",
  "sandbox-paths": "sandboxPaths",
  "build-chroot-dirs": "sandboxPaths",
  "build-sandbox-paths": "sandboxPaths",
  "keep-build-log": "keepBuildLog",
  "build-keep-log": "keepBuildLog",
  "compress-build-log": "compressBuildLog",
  "build-compress-log": "compressBuildLog",
  "max-build-log-size": "maxBuildLogSize",
  "build-max-log-size": "maxBuildLogSize",
  substituters: "substituters",
  "binary-caches": "substituters",
  "trusted-substituters": "trustedSubstituters",
  "trusted-binary-caches": "trustedSubstituters",
  "trusted-public-keys": "trustedPublicKeys",
  "binary-cache-public-keys": "trustedPublicKeys",
  "require-sigs": "requireSigs",
  substitute: "substitute",
  "secret-key-files": "secretKeyFiles",
  // builder features (issues 14/15)
  "post-build-hook": "postBuildHook",
  repeat: "repeat",
  "build-repeat": "repeat",
  "enforce-determinism": "enforceDeterminism"
}

/** Defaults, in text form (Nix 2.8's defaults where Nix has the setting). */
export const defaultSettingsText: SettingsText = {
  keepOutputs: "false",
  keepDerivations: "true",
  fsyncMetadata: "true",
  readOnly: "false",
  gcRuntimeRoots: "true",
  dbBusyMaxWait: "300",
  autoOptimiseStore: "false",
  // builder (issue 14): Nix 2.8's compiled-in defaults
  maxJobs: "1",
  cores: "0",
  timeout: "0",
  maxSilentTime: "0",
  keepFailed: "false",
  keepGoing: "false",
  buildCacheFailure: "false",
  sandbox: "true",
  sandboxFallback: "true",
  sandboxPaths: "",
  keepBuildLog: "true",
  compressBuildLog: "true",
  maxBuildLogSize: "0",
  substituters: "https://cache.nixos.org/",
  trustedSubstituters: "",
  trustedPublicKeys: "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=",
  requireSigs: "true",
  substitute: "true",
  secretKeyFiles: "",
  // builder features (issues 14/15)
  postBuildHook: "",
  repeat: "0",
  enforceDeterminism: "true"
}

/**
 * Settings that Nix 2.8 knows and tsnix accepts without effect (they concern
 * building, substitution, evaluation or the daemon), so that an existing
 * NIX_CONFIG does not produce warnings.
 */
export const ignoredNixSettings: ReadonlySet<string> = new Set([
  "experimental-features",
  "sandbox",
  "sandbox-fallback",
  "sandbox-paths",
  "extra-sandbox-paths",
  "build-users-group",
  "max-jobs",
  "cores",
  "system",
  "extra-platforms",
  "system-features",
  "builders",
  "builders-use-substitutes",
  "min-free",
  "max-free",
  "min-free-check-interval",
  "allowed-users",
  "trusted-users",
  "narinfo-cache-positive-ttl",
  "narinfo-cache-negative-ttl",
  "connect-timeout",
  "stalled-download-timeout",
  "http-connections",
  "http2",
  "netrc-file",
  "log-lines",
  "keep-going",
  "keep-failed",
  "keep-build-log",
  "compress-build-log",
  "fallback",
  "warn-dirty",
  "flake-registry",
  "accept-flake-config",
  "allow-import-from-derivation",
  "pure-eval",
  "restrict-eval",
  "allowed-uris",
  "show-trace",
  "max-build-log-size",
  "timeout",
  "max-silent-time",
  "build-poll-interval",
  "use-sqlite-wal",
  "store",
  "tarball-ttl",
  "access-tokens",
  "nix-path",
  "post-build-hook",
  "pre-build-hook",
  "diff-hook",
  "run-diff-hook",
  "plugin-files",
  "keep-env-derivations",
  "preallocate-contents",
  "filter-syscalls",
  "allow-new-privileges",
  "impersonate-linux-26",
  "ssl-cert-file",
  "user-agent-suffix",
  "fsync-store-paths",
  "gc-reserved-space",
  "print-missing",
  "bash-prompt",
  "bash-prompt-prefix",
  "bash-prompt-suffix",
  "commit-lockfile-summary",
  "ignored-acls",
  "hashed-mirrors",
  "build-hook",
  "id-count",
  "auto-allocate-uids",
  "start-id",
  "repeat",
  "enforce-determinism",
  "download-attempts",
  "eval-cache",
  "max-call-depth",
  "allow-symlinked-store",
  "allow-dirty",
  "use-xdg-base-directories",
  "sync-before-registering"
])
