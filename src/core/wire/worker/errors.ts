/**
 * The typed error of a worker-protocol value that is well framed but wrong
 * (a bad magic number, a hash or content address that does not parse, an
 * unknown enum value). Decoders throw it; pass {@link isWorkerValueError} to
 * `WireReader.read` to get it back as a value.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** A worker-protocol value that does not make sense; `what` names it, `reason` says why. */
export class WorkerValueError extends Data.TaggedError("WorkerValueError")<{
  readonly offset: number
  readonly what: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.what}: ${this.reason}`
  }
}

/** True for {@link WorkerValueError}. */
export const isWorkerValueError = (e: unknown): e is WorkerValueError => e instanceof WorkerValueError
