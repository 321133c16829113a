/**
 * Binary cache formats (pure): narinfo, nix-cache-info, NAR listings, ed25519 keys and signatures.
 *
 * @since 0.1.0
 */
export * from "./cacheInfo.js"
export * from "./narInfo.js"
export * from "./narListing.js"
export * from "./signing.js"
