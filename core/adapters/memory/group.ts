import type { TopicPartition } from '../../ports/bus.ts';
import type { Member } from './member.ts';

/**
 * An in-memory consumer group: its committed offsets per topic and its members. Every change of
 * membership runs one rebalance at a time: partitions that move are revoked from their owner (its
 * in-flight batches settle and onRevoked runs) before the new owner is given them.
 */
export class Group {
  readonly committed = new Map<string, Map<number, number>>();
  private readonly members: Member[] = [];
  private changes: Promise<void> = Promise.resolve();

  constructor(private readonly partitionsOf: (topic: string) => number) {}

  committedOf(topic: string): Map<number, number> {
    let offsets = this.committed.get(topic);
    if (!offsets) {
      offsets = new Map();
      this.committed.set(topic, offsets);
    }
    return offsets;
  }

  /** Members that read `topic`. */
  readersOf(topic: string): Member[] {
    return this.members.filter((member) => member.reads(topic));
  }

  all(): Member[] {
    return [...this.members];
  }

  /**
   * Adds a member, in the place of the live member with the same instance id if there is one
   * (static membership): that one is fenced and the newcomer gets exactly its partitions.
   */
  join(member: Member): Promise<void> {
    return this.change(async () => {
      const previous = member.instanceId === undefined ? -1 : this.members.findIndex((other) => other.instanceId === member.instanceId);
      if (previous >= 0) {
        await this.members[previous]!.retire();
        this.members[previous] = member;
      } else {
        this.members.push(member);
      }
    });
  }

  /** Revokes everything `member` owns, then shares its partitions among the others. */
  leave(member: Member): Promise<void> {
    return this.change(async () => {
      const index = this.members.indexOf(member);
      if (index < 0) return;
      await member.retire();
      this.members.splice(index, 1);
    });
  }

  private change(membership: () => Promise<void>): Promise<void> {
    const done = this.changes.then(async () => {
      await membership();
      await this.rebalance();
    });
    this.changes = done.catch(() => undefined);
    return done;
  }

  /** Each topic's partitions round-robin over the members reading it, in joining order. */
  private async rebalance(): Promise<void> {
    const target = new Map<Member, TopicPartition[]>(this.members.map((member) => [member, []]));
    const topics = new Set(this.members.flatMap((member) => member.options.topics));
    for (const topic of topics) {
      const readers = this.readersOf(topic);
      for (let partition = 0; partition < this.partitionsOf(topic); partition++) {
        target.get(readers[partition % readers.length]!)!.push({ topic, partition });
      }
    }
    await Promise.all(this.members.map((member) => member.revokeAllBut(target.get(member)!)));
    await Promise.all(this.members.map((member) => member.assign(target.get(member)!)));
  }
}
