/**
 * The worker protocol's operation numbers (Nix 2.8's `WorkerOp`), plus the
 * seed's 24 QueryFailedPaths / 25 ClearFailedPaths that Nix removed in 2.0.
 *
 * @since 0.1.0
 */

/** Operation numbers. */
export const Op = {
  IsValidPath: 1,
  HasSubstitutes: 3,
  QueryPathHash: 4,
  QueryReferences: 5,
  QueryReferrers: 6,
  AddToStore: 7,
  AddTextToStore: 8,
  BuildPaths: 9,
  EnsurePath: 10,
  AddTempRoot: 11,
  AddIndirectRoot: 12,
  SyncWithGC: 13,
  FindRoots: 14,
  ExportPath: 16,
  QueryDeriver: 18,
  SetOptions: 19,
  CollectGarbage: 20,
  QuerySubstitutablePathInfo: 21,
  QueryDerivationOutputs: 22,
  QueryAllValidPaths: 23,
  QueryFailedPaths: 24,
  ClearFailedPaths: 25,
  QueryPathInfo: 26,
  ImportPaths: 27,
  QueryDerivationOutputNames: 28,
  QueryPathFromHashPart: 29,
  QuerySubstitutablePathInfos: 30,
  QueryValidPaths: 31,
  QuerySubstitutablePaths: 32,
  QueryValidDerivers: 33,
  OptimiseStore: 34,
  VerifyStore: 35,
  BuildDerivation: 36,
  AddSignatures: 37,
  NarFromPath: 38,
  AddToStoreNar: 39,
  QueryMissing: 40,
  QueryDerivationOutputMap: 41,
  RegisterDrvOutput: 42,
  QueryRealisation: 43,
  AddMultipleToStore: 44,
  AddBuildLog: 45,
  BuildPathsWithResults: 46
} as const

/** The name of an operation (`IsValidPath`). */
export type OpName = keyof typeof Op
/** An operation number. */
export type OpCode = (typeof Op)[OpName]

const names = new Map<number, OpName>(Object.entries(Op).map(([k, v]) => [v, k as OpName]))

/** The name of a known operation number, else undefined. */
export const opName = (code: number | bigint): OpName | undefined =>
  typeof code === "bigint" ? (code <= 0xffn ? names.get(Number(code)) : undefined) : names.get(code)

/** True when `code` is an operation of this protocol. */
export const isOpCode = (code: number | bigint): code is OpCode => opName(code) !== undefined

/**
 * The operations that build (answered "not supported" until the builder is
 * wired in). QueryMissing (40) is not one: `nix path-info` sends it first, and
 * a store without builder or substituters can answer it.
 */
export const buildOps: ReadonlySet<number> = new Set([Op.BuildPaths, Op.BuildDerivation, Op.BuildPathsWithResults])
