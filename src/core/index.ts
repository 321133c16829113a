/**
 * `tsnix/core`: the pure codecs, without I/O and without native addons
 * (loading this module loads neither better-sqlite3 nor fs-ext; a test checks
 * it). Everything here works on bytes and strings, so it can serve a daemon
 * client, a binary cache or a browser-side tool alike.
 *
 * ```ts
 * import { StorePath, Wire } from "tsnix/core"
 * ```
 *
 * @since 0.1.0
 */

/** Nix base32. */
export * as Nix32 from "./nix32.js"
/** Hashes: md5, sha1, sha256, sha512 in every encoding Nix prints. */
export * as Hash from "./hash.js"
/** Store paths: parsing, validation, makeStorePath and friends. */
export * as StorePath from "./storePath.js"
/** NAR framing, encoder and the strict incremental parser. */
export * as NarCore from "./nar/index.js"
/** ATerm parser and printer, show-derivation JSON, hashDerivationModulo, output paths. */
export * as DerivationCore from "./derivation/index.js"
/** The derivation's Schema types the derivation codec reads and writes. */
export * as Derivation from "./derivation/schema.js"
/** Nix's topological sort of store paths. */
export * as TopoSort from "./topoSort.js"
/** Wire primitives: u64, padded strings, string lists, framed streams; incremental decoders. */
export * as Wire from "./wire/index.js"
export * as WorkerProtocol from "./wire/worker/index.js"
/** The `nix-store --export` format: encoders, framing decoders, an incremental stream decoder. */
export * as ExportFormat from "./exportFormat.js"
/** Content addresses (`text:sha256:…`, `fixed:r:sha256:…`): the typed value, parse, render, Schema. */
export * as ContentAddress from "./contentAddress.js"
/** The branded, validated store path string (`StorePathBrand.StorePath`), its parser and Schema. */
export * as StorePathBrand from "./storePathBrand.js"
/** Typed path info (ValidPathInfo): the database row mapping, `nix path-info --json` Schema, fingerprint. */
export * as PathInfo from "./pathInfo.js"
