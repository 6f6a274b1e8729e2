import {
  Consumer as PlatformaticConsumer,
  ConnectionPool,
  ListOffsetTimestamps,
  consumerHeartbeatChannel,
  offsetCommitV8,
  offsetCommitV9,
  type Connection,
  type GroupAssignment,
} from '@platformatic/kafka';
import type { ConsumeOptions, Consumer, TopicPartition } from '../../ports/bus.ts';
import type { Logger } from '../../log.ts';
import { isKafkaError, connectionTo } from './protocol.ts';
import { LakeError, messageOf } from '../../errors.ts';
import { Deliveries, keyOf, type DeliverySettings } from './deliveries.ts';
import { Fetcher, type FetchSettings } from './fetcher.ts';

/** How a member talks to its group and fetches. */
export interface MemberSettings extends DeliverySettings, FetchSettings {
  /** Highest OffsetCommit version to speak (default 9; the broker's highest when lower, at least 8). */
  maxOffsetCommitVersion?: number;
  clientId: string;
  brokers: string[];
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
}

const byTopicThenPartition = (a: TopicPartition, b: TopicPartition) => a.topic.localeCompare(b.topic) || a.partition - b.partition;
const NO_USER_DATA = Buffer.alloc(0);
/** Commit errors that say the group moved on without this member's generation. */
const NOT_OWNER_ERRORS = ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID', 'REBALANCE_IN_PROGRESS'];

/**
 * One member of a consumer group on @platformatic/kafka: the library keeps the membership (join,
 * sync, heartbeats, static membership through `groupInstanceId`); this class fetches, delivers and
 * commits itself. The group protocol is the classic eager one: before every (re)join the member
 * revokes all it owns (in-flight batches settle, onRevoked runs), and after it, onAssigned gives
 * the start offsets of its new partitions.
 */
export class KafkaMember implements Consumer {
  private readonly client: PlatformaticConsumer;
  /** Fetches wait at the broker (long poll) and a broker answers one connection in order: commits get their own. */
  private readonly pool: ConnectionPool;
  private readonly commitPool: ConnectionPool;
  private readonly deliveries: Deliveries;
  private readonly fetcher: Fetcher;
  private readonly log: Logger;
  private assigned: TopicPartition[] = [];
  private assigning: Promise<void> | undefined;
  /** Moves on every assignment and revocation: a start still being worked out for an older one is dropped. */
  private generation = 0;
  private revoking: Promise<void> | undefined;
  private closed = false;
  /** A newer member joined with this member's instance id. */
  private fenced = false;
  private coordinator: Promise<Connection> | undefined;
  private offsetCommit: Promise<typeof offsetCommitV9.api> | undefined;

  constructor(
    private readonly options: ConsumeOptions,
    private readonly settings: MemberSettings,
    log: Logger,
    private readonly onClosed: () => void,
  ) {
    this.log = log.child({ component: 'kafka-consumer', group: options.group, instanceId: options.instanceId });
    this.client = new PlatformaticConsumer({
      clientId: settings.clientId,
      bootstrapBrokers: settings.brokers,
      groupId: options.group,
      groupInstanceId: options.instanceId,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      rebalanceTimeout: settings.rebalanceTimeoutMs,
      protocols: [{ name: 'roundrobin', version: 1 }],
      protocolsMetadata: () => this.beforeJoin(),
      retries: 5,
      retryDelay: 500,
    });
    this.pool = new ConnectionPool(settings.clientId, { requestTimeout: settings.maxWaitMs + 30_000 });
    this.commitPool = new ConnectionPool(settings.clientId, { requestTimeout: 30_000 });
    this.deliveries = new Deliveries(options.onBatch, settings, () => this.fetcher.wake());
    this.fetcher = new Fetcher(this.client, this.pool, this.deliveries, settings, this.log);
  }

  /** Joins, and resolves once the first assignment has its start offsets; deliveries begin right after. */
  async start(): Promise<void> {
    let assignedOnce!: () => void;
    const firstAssignment = new Promise<void>((resolve) => (assignedOnce = resolve));
    this.client.on('consumer:group:join', ({ assignments }) => {
      this.assigning = this.assign(assignments ?? [], assignedOnce);
    });
    this.client.on('error', (error: unknown) => this.lostMembership(error));
    consumerHeartbeatChannel.error.subscribe(this.onHeartbeatError);
    this.client.topics.trackAll(...this.options.topics);
    await this.client.joinGroup({});
    await firstAssignment;
    this.fetcher.start();
    // Deliveries start once the caller of `consume` holds this consumer.
    setImmediate(() => this.deliveries.start());
  }

  async commit(offsets: (TopicPartition & { nextOffset: number })[]): Promise<void> {
    for (const offset of offsets) this.assertOwned(offset, 'commit');
    const topics = new Map<
      string,
      {
        name: string;
        partitions: { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }[];
      }
    >();
    for (const { topic, partition, nextOffset } of offsets) {
      const entry = topics.get(topic) ?? { name: topic, partitions: [] };
      entry.partitions.push({
        partitionIndex: partition,
        committedOffset: BigInt(nextOffset),
        committedLeaderEpoch: -1,
        committedMetadata: null,
      });
      topics.set(topic, entry);
    }
    const { memberId, generationId, groupInstanceId } = this.client;
    if (memberId === null) throw new LakeError('BUS_NOT_OWNER', `cannot commit for group ${this.options.group}: rejoining the group`);
    try {
      this.coordinator ??= this.coordinatorConnection();
      this.offsetCommit ??= this.offsetCommitApi();
      const api = await this.offsetCommit;
      await api.async(await this.coordinator, this.options.group, generationId, memberId, groupInstanceId, [...topics.values()]);
    } catch (cause) {
      this.coordinator = undefined;
      this.offsetCommit = undefined;
      const refused = NOT_OWNER_ERRORS.find((id) => isKafkaError(cause, id));
      if (refused === 'FENCED_INSTANCE_ID') this.fenced = true;
      throw new LakeError(
        refused ? 'BUS_NOT_OWNER' : 'BUS_UNAVAILABLE',
        `committing ${offsets.length} offsets of group ${this.options.group}: ${refused ?? messageOf(cause)}`,
        { cause },
      );
    }
    for (const { topic, partition, nextOffset } of offsets) {
      const slot = this.deliveries.get({ topic, partition });
      if (slot) this.deliveries.committed(slot, nextOffset);
    }
  }

  seek(partition: TopicPartition, offset: number): void {
    this.assertOwned(partition, 'seek');
    const slot = this.deliveries.get(partition);
    if (!slot)
      throw new LakeError('BUS_NOT_OWNER', `cannot seek ${partition.topic}/${partition.partition}: its start offset is not known yet`);
    this.deliveries.seek(slot, offset);
  }

  setPaused(paused: boolean): void {
    this.deliveries.setPaused(paused);
  }

  assignment(): TopicPartition[] {
    return [...this.assigned];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.revokeAll();
    await this.fetcher.stop();
    consumerHeartbeatChannel.error.unsubscribe(this.onHeartbeatError);
    await this.client.close(true).catch((error: unknown) => this.log.debug({ err: messageOf(error) }, 'Leaving the group failed'));
    await Promise.all([this.pool.close(), this.commitPool.close()]);
    this.onClosed();
  }

  private assertOwned(tp: TopicPartition, what: string): void {
    if (this.closed || this.fenced || !this.assigned.some((owned) => owned.topic === tp.topic && owned.partition === tp.partition)) {
      throw new LakeError(
        'BUS_NOT_OWNER',
        `cannot ${what} ${tp.topic}/${tp.partition} for group ${this.options.group}: not assigned to this consumer`,
      );
    }
  }

  /** Runs before every JoinGroup: eager rebalancing gives everything back first. A fenced member does not rejoin. */
  private async beforeJoin(): Promise<Buffer> {
    await this.revokeAll();
    if (this.fenced) throw new LakeError('BUS_NOT_OWNER', `a newer member of ${this.options.group} joined as ${this.options.instanceId}`);
    return NO_USER_DATA;
  }

  private readonly onHeartbeatError = (context: unknown): void => {
    const { client, error } = context as { client?: unknown; error?: unknown };
    if (client === this.client && isKafkaError(error, 'FENCED_INSTANCE_ID')) {
      this.fenced = true;
      this.log.warn('A newer member joined with this instance id; this one stops consuming');
    }
  };

  /** The library gave up (re)joining: try again while this member is wanted. */
  private lostMembership(error: unknown): void {
    if (this.closed || this.fenced) return;
    this.log.warn({ err: messageOf(error) }, 'Lost the group membership; joining again');
    const retry = setTimeout(() => {
      if (this.closed || this.fenced || this.client.isActive()) return;
      this.client.joinGroup({}).catch((again: unknown) => this.lostMembership(again));
    }, 1_000);
    retry.unref();
  }

  /** A new assignment: asks onAssigned for start offsets (again after a pause while it fails). */
  private async assign(assignments: GroupAssignment[], assignedOnce: () => void): Promise<void> {
    const partitions = assignments
      .flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })))
      .sort(byTopicThenPartition);
    if (this.closed || this.fenced) return assignedOnce();
    const generation = ++this.generation;
    this.assigned = partitions;
    while (generation === this.generation) {
      try {
        const starts = partitions.length > 0 ? await this.startOffsets(partitions) : new Map<string, number>();
        if (generation !== this.generation) break;
        for (const tp of partitions) this.deliveries.add(tp, starts.get(keyOf(tp))!);
        break;
      } catch (error) {
        assignedOnce();
        this.log.warn({ err: messageOf(error) }, 'Could not fix the start offsets of the assigned partitions; trying again');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    assignedOnce();
  }

  /** onAssigned's offsets, else the group's commits, else `from`; kept within what each partition holds. */
  private async startOffsets(partitions: TopicPartition[]): Promise<Map<string, number>> {
    const given = (await this.options.onAssigned?.(partitions)) ?? new Map<string, number>();
    const topics = [...new Set(partitions.map((tp) => tp.topic))];
    const [earliest, latest, committed] = await Promise.all([
      this.client.listOffsets({ topics, timestamp: ListOffsetTimestamps.EARLIEST }),
      this.client.listOffsets({ topics, timestamp: ListOffsetTimestamps.LATEST }),
      this.client.listCommittedOffsets({
        topics: topics.map((topic) => ({ topic, partitions: partitions.filter((tp) => tp.topic === topic).map((tp) => tp.partition) })),
      }),
    ]);
    const starts = new Map<string, number>();
    for (const tp of partitions) {
      const low = Number(earliest.get(tp.topic)![tp.partition]);
      const high = Number(latest.get(tp.topic)![tp.partition]);
      const stored = Number(committed.get(tp.topic)?.[tp.partition] ?? -1);
      const wanted = given.get(keyOf(tp)) ?? (stored >= 0 ? stored : this.options.from === 'latest' ? high : low);
      starts.set(keyOf(tp), Math.min(Math.max(wanted, low), high));
    }
    return starts;
  }

  /** Stops every owned partition, waits for its batch in flight and its start, then runs onRevoked. */
  private revokeAll(): Promise<void> {
    this.revoking ??= (async () => {
      this.generation += 1;
      await this.assigning;
      const revoked = this.assigned;
      if (revoked.length === 0) return;
      await this.deliveries.stop(revoked);
      try {
        await this.options.onRevoked?.(revoked);
      } catch (error) {
        this.log.warn({ err: messageOf(error) }, 'onRevoked failed; the partitions go anyway');
      }
      this.deliveries.remove(revoked);
      if (this.assigned === revoked) this.assigned = [];
    })().finally(() => (this.revoking = undefined));
    return this.revoking;
  }

  /** OffsetCommit v9, or v8 for brokers that stop there (the same request). */
  private async offsetCommitApi(): Promise<typeof offsetCommitV9.api> {
    const apis = await this.client.listApis();
    const version = Math.min(apis.find((api) => api.apiKey === 8)?.maxVersion ?? 0, this.settings.maxOffsetCommitVersion ?? 9);
    if (version < 8) throw new Error(`the broker speaks OffsetCommit up to v${version}; v8 or newer is needed`);
    return version >= 9 ? offsetCommitV9.api : (offsetCommitV8.api as unknown as typeof offsetCommitV9.api);
  }

  private async coordinatorConnection(): Promise<Connection> {
    const [coordinatorId, metadata] = await Promise.all([this.client.findGroupCoordinator(), this.client.metadata({ topics: [] })]);
    const broker = metadata.brokers.get(coordinatorId);
    if (!broker) throw new Error(`the group coordinator ${coordinatorId} is not among the brokers`);
    return connectionTo(this.commitPool, broker);
  }
}
