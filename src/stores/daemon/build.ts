/**
 * The {@link BuildStore} contract over the worker protocol, as Nix 2.8's
 * RemoteStore: QueryMissing (40), BuildPathsWithResults (46) from protocol
 * 1.34 and BuildPaths (9) before it (whose failure is the daemon's error),
 * EnsurePath (10). The daemon's build log lines and activities reach the
 * client's logger through the connection's STDERR handling.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { bool, type Decoder } from "../../core/wire/decode.js"
import { concatBytes, encodePadded, encodeStrings, encodeU64 } from "../../core/wire/encode.js"
import { BuildMode, buildResult, BuildStatus } from "../../core/wire/worker/build.js"
import { Op } from "../../core/wire/worker/ops.js"
import { missingReply } from "../../core/wire/worker/requests.js"
import { protocolMinor } from "../../core/wire/worker/version.js"
import type { BuildStatus as BuildStatusName } from "../../services/Builder.js"
import type { BuildModeName, BuildStoreShape, TargetResult } from "../../services/BuildStore.js"
import { u64Bounded } from "../../core/wire/decode.js"
import { MAX_COUNT } from "../../core/wire/worker/limits.js"
import type { DaemonClient } from "./client.js"
import { stripAnsi } from "./connection.js"

const statusNames = new Map<number, BuildStatusName>(
  Object.entries(BuildStatus).map(([k, v]) => [v, k as BuildStatusName])
)

const modeNumber = (m: BuildModeName) =>
  m === "repair" ? BuildMode.Repair : m === "check" ? BuildMode.Check : BuildMode.Normal

const results: Decoder<Array<TargetResult>> = (input) => {
  const n = u64Bounded(MAX_COUNT, "the number of build results")(input)
  const out: Array<TargetResult> = []
  for (let i = 0; i < n; i++) {
    const r = buildResult(input)
    out.push({
      path: r.path,
      status: statusNames.get(r.status) ?? "MiscFailure",
      errorMsg: stripAnsi(r.errorMsg),
      timesBuilt: r.timesBuilt,
      startTime: r.startTime,
      stopTime: r.stopTime
    })
  }
  return out
}

/** Builds the BuildStore service of a daemon reached through `client`. */
export const makeBuildStore = (client: DaemonClient): BuildStoreShape => ({
  queryMissing: (targets) => client.call(Op.QueryMissing, [encodeStrings(targets)], missingReply),
  buildPaths: (targets, mode) =>
    client.withConnection((conn) =>
      Effect.gen(function*() {
        const minor = protocolMinor(conn.version)
        if (minor >= 34) {
          yield* conn.send(encodeU64(Op.BuildPathsWithResults), encodeStrings(targets), encodeU64(modeNumber(mode)))
          yield* conn.processStderr()
          return yield* conn.read(results)
        }
        const args = [encodeStrings(targets)]
        if (minor >= 15) args.push(encodeU64(modeNumber(mode)))
        yield* conn.send(encodeU64(Op.BuildPaths), concatBytes(args))
        yield* conn.processStderr()
        yield* conn.read(bool)
        // BuildPaths says nothing per target: they are all there now.
        return targets.map((path): TargetResult => ({
          path,
          status: "Built",
          errorMsg: "",
          timesBuilt: 0,
          startTime: 0,
          stopTime: 0
        }))
      })
    ),
  ensurePath: (p) => Effect.asVoid(client.call(Op.EnsurePath, [encodePadded(p)], bool))
})
