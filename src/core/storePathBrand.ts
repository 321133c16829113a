/**
 * A branded store path: a full printed path `storeDir/<hash>-<name>` that
 * has been validated once (by {@link parse} or the {@link StorePathFromString}
 * Schema), so code that receives a `StorePath` need not check it again.
 *
 * The validation is `parseStorePath` of `storePath.ts` (exact store path,
 * nothing after the name). A `StorePath` is still a `string`: it prints, sorts
 * and compares as the path does.
 *
 * @since 0.1.0
 */
import { Brand, Either, ParseResult, Schema } from "effect"
import type { InvalidStorePathError } from "./storePath.js"
import { hashPartLength, parseStorePath } from "./storePath.js"

/** A validated store path (`/nix/store/<32 nix32 chars>-<name>`). */
export type StorePath = string & Brand.Brand<"tsnix/StorePath">

const brand = Brand.nominal<StorePath>()

/** Validates `s` as a store path of `storeDir` and brands it. */
export const parse = (storeDir: string, s: string): Either.Either<StorePath, InvalidStorePathError> =>
  Either.map(parseStorePath(storeDir, s), () => brand(s))

/**
 * Brands a string already known to be a valid store path (read back from a
 * store that validated it). Throws `InvalidStorePathError` if it is not.
 */
export const unsafeMake = (storeDir: string, s: string): StorePath =>
  Either.getOrThrowWith(parse(storeDir, s), (e) => e)

/** The base name `<hash>-<name>` of a store path. */
export const baseName = (p: StorePath): string => p.slice(p.lastIndexOf("/") + 1)

/** The 32-character hash part of a store path. */
export const hashPart = (p: StorePath): string => baseName(p).slice(0, hashPartLength)

/** The name after the hash part. */
export const name = (p: StorePath): string => baseName(p).slice(hashPartLength + 1)

/** The store directory of a store path (everything before the last `/`). */
export const storeDirOf = (p: StorePath): string => p.slice(0, p.lastIndexOf("/"))

/** Schema of a branded store path of `storeDir`, encoded as the plain string. */
export const StorePathFromString = (storeDir: string): Schema.Schema<StorePath, string> =>
  Schema.transformOrFail(Schema.String, Schema.String.pipe(Schema.brand("tsnix/StorePath")), {
    strict: true,
    decode: (s, _, ast) =>
      Either.match(parse(storeDir, s), {
        onLeft: (e) => ParseResult.fail(new ParseResult.Type(ast, s, e.message)),
        onRight: (p) => ParseResult.succeed(p)
      }),
    encode: (p) => ParseResult.succeed(p)
  })
