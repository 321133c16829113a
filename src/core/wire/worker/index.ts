/**
 * The worker protocol's values (Nix 2.8, minors 10 to 34), pure: versions and
 * the handshake, op numbers, STDERR messages, ValidPathInfo, content
 * addresses, SetOptions, BuildResult, and the structured request/reply bodies.
 * Encoders return bytes; decoders are `Decoder`s of `core/wire` that throw
 * `WireError`s or {@link WorkerValueError} (pass `isWorkerValueError` to
 * `WireReader.read`).
 *
 * @since 0.1.0
 */
export * from "./build.js"
export * from "./errors.js"
export * from "./limits.js"
export * from "./ops.js"
export * from "./options.js"
export * from "./pathInfo.js"
export * from "./requests.js"
export * from "./stderr.js"
export * from "./values.js"
export * from "./version.js"
