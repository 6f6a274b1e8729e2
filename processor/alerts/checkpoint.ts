import { z } from 'zod';
import { LakeError, messageOf } from '../../core/errors.ts';
import type { ObjectStore } from '../../core/ports/object-store.ts';
import type { EvaluatorState } from './evaluator.ts';

/** What the alerter saves per bus partition: the evaluator's memory and the offset it covers. */
export interface AlertCheckpoint {
  /** The next offset to evaluate: every message below it is reflected in `state` and its alerts were published. */
  nextOffset: number;
  state: EvaluatorState;
  /** epoch ms */
  savedAt: number;
}

const Checkpoint = z.object({
  nextOffset: z.number().int().nonnegative(),
  state: z.object({
    series: z.record(z.string(), z.unknown()),
    minutes: z.record(z.string(), z.unknown()),
    // Saved before composites existed: the composite starts from the next records.
    composites: z.record(z.string(), z.unknown()).default({}),
    lastFired: z.record(z.string(), z.number()),
    late: z.number(),
  }),
  savedAt: z.number(),
});

/**
 * Where the alerter keeps its checkpoints: `_alerts/<group>/<topic>/p<N>.json` in the object store,
 * beside the lake (no dataset reads `_alerts/`). A put is atomic, so a checkpoint is the old one or
 * the new one, never a mix.
 */
export class CheckpointStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly group: string,
    private readonly topic: string,
  ) {}

  key(partition: number): string {
    return `_alerts/${this.group}/${this.topic}/p${partition}.json`;
  }

  /** The saved checkpoint, or `undefined` when the partition was never checkpointed. Throws when the store fails or the file is unreadable. */
  async load(partition: number): Promise<AlertCheckpoint | undefined> {
    const key = this.key(partition);
    const body = await this.store.get(key);
    if (!body) return undefined;
    try {
      return Checkpoint.parse(JSON.parse(new TextDecoder().decode(body))) as AlertCheckpoint;
    } catch (cause) {
      // Starting from scratch would raise every old alert again: a person must look at it.
      throw new LakeError('RECORD_INVALID', `reading the alert checkpoint ${key}: ${messageOf(cause)}`, { cause });
    }
  }

  async save(partition: number, checkpoint: AlertCheckpoint): Promise<void> {
    await this.store.put(this.key(partition), new TextEncoder().encode(JSON.stringify(checkpoint)));
  }
}
