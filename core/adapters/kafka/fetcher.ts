import {
  createAPI,
  fetchV11,
  fetchV12,
  fetchV13,
  fetchV14,
  fetchV15,
  fetchV16,
  fetchV17,
  type Callback,
  type ClusterMetadata,
  type Connection,
  type ConnectionPool,
  type Consumer as PlatformaticConsumer,
  type Reader,
} from '@platformatic/kafka';
import type { Logger } from '../../log.ts';
import { connectionTo } from './protocol.ts';
import { messageOf } from '../../errors.ts';
import type { Deliveries, Slot } from './deliveries.ts';
import { decodeRecords, type AbortedTransaction } from './records.ts';
import { keyOf } from './deliveries.ts';

/** How the fetcher asks the brokers for records. */
export interface FetchSettings {
  /** Highest Fetch version to speak (default 17; the broker's highest when lower). Redpanda 24 stops at 11. */
  maxFetchVersion?: number;
  /** How long a broker may hold a fetch while it has less than one byte to give, ms. */
  maxWaitMs: number;
  /** Most bytes of one fetch response. */
  maxBytes: number;
  /** Most bytes of one partition in one response. */
  partitionMaxBytes: number;
}

/** One partition of a fetch response, its records still raw. */
interface FetchedPartition {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  aborted: AbortedTransaction[] | null;
  records: Buffer | null;
}

const OFFSET_OUT_OF_RANGE = 1;
const READ_COMMITTED = 1;
const NO_SESSION = 0;
const SESSIONLESS_EPOCH = -1;

/**
 * A Fetch response reader that leaves the record batches as raw bytes (the library would decode
 * every record into an object of its own first): `decodeRecords` turns them into messages.
 * Versions 12 (topics by name) to 17 (by id) share this layout; 11 is the same without the compact
 * encodings and tagged fields.
 */
function parseFetchResponse(_correlationId: number, _apiKey: number, apiVersion: number, reader: Reader): FetchedPartition[] {
  const flexible = apiVersion >= 12;
  const partitions: FetchedPartition[] = [];
  reader.readInt32(); // throttle time
  const errorCode = reader.readInt16();
  if (errorCode !== 0) throw new Error(`fetch failed with error code ${errorCode}`);
  reader.readInt32(); // session id
  reader.readArray(
    (r) => {
      const topic = apiVersion >= 13 ? r.readUUID() : r.readString(flexible);
      r.readArray(
        (p) => {
          const partition = p.readInt32();
          const errorCode = p.readInt16();
          const highWatermark = Number(p.readInt64());
          p.readInt64(); // last stable offset
          const logStartOffset = Number(p.readInt64());
          const aborted = p.readNullableArray((a) => ({ producerId: a.readInt64(), firstOffset: a.readInt64() }), flexible, flexible);
          const fetched: FetchedPartition = { topic, partition, errorCode, highWatermark, logStartOffset, aborted, records: null };
          p.readInt32(); // preferred read replica
          const size = flexible ? p.readUnsignedVarInt() - 1 : p.readInt32();
          if (size > 0) {
            // One contiguous buffer per partition (a copy only when the response spans socket chunks).
            fetched.records = p.buffer.slice(p.position, p.position + size);
            p.skip(size);
          }
          if (flexible) p.readTaggedFields();
          partitions.push(fetched);
        },
        flexible,
        false,
      );
      if (flexible) r.readTaggedFields();
    },
    flexible,
    false,
  );
  if (flexible) reader.readTaggedFields();
  return partitions;
}

type FetchApi = (connection: Connection, ...args: unknown[]) => void;

/**
 * Fetches the partitions a member owns from their leaders, one request in flight per broker, and
 * hands what it decodes to `Deliveries`. It asks only for partitions that want more (not paused,
 * not held after a failure, not holding too many bytes) and sleeps when none does.
 */
export class Fetcher {
  private running = false;
  private loop: Promise<void> | undefined;
  private dirty = false;
  private wakeUp: (() => void) | undefined;
  private api: { call: FetchApi; byName: boolean } | undefined;
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly fetching = new Set<string>();
  private readonly brokerRetryAt = new Map<number, number>();
  private failures = 0;

  constructor(
    private readonly client: PlatformaticConsumer,
    private readonly pool: ConnectionPool,
    private readonly deliveries: Deliveries,
    private readonly settings: FetchSettings,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Something changed (a partition added, resumed, delivered): look again at what to fetch. */
  readonly wake = (): void => {
    this.dirty = true;
    this.wakeUp?.();
  };

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.dirty = false;
      try {
        await this.fetchWanted();
      } catch (error) {
        this.failures += 1;
        this.client.clearMetadata();
        this.log[this.failures === 3 ? 'warn' : 'debug'](
          { err: messageOf(error), failures: this.failures },
          'Could not fetch; trying again',
        );
        await this.sleep(Math.min(5_000, 100 * 2 ** this.failures));
        continue;
      }
      if (!this.dirty && this.running) {
        const retryAt = Math.min(this.deliveries.nextRetryAt() ?? Infinity, ...this.brokerRetryAt.values());
        await this.sleep(Number.isFinite(retryAt) ? Math.max(1, retryAt - Date.now()) : 1_000);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  /** Sends a fetch to every leader of wanted partitions that has none in flight. */
  private async fetchWanted(): Promise<void> {
    const now = Date.now();
    const wanted = this.deliveries.fetchable(now).filter((slot) => !this.fetching.has(keyOf(slot)));
    if (wanted.length === 0) return;
    const metadata = await this.client.metadata({ topics: [...new Set(wanted.map((slot) => slot.topic))] });
    this.api ??= await this.fetchApi();
    const byLeader = new Map<number, Slot[]>();
    for (const slot of wanted) {
      const leader = metadata.topics.get(slot.topic)?.partitions[slot.partition]?.leader ?? -1;
      if (leader < 0 || this.inFlight.has(leader) || (this.brokerRetryAt.get(leader) ?? 0) > now) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), slot]);
    }
    for (const [leader, slots] of byLeader) {
      for (const slot of slots) this.fetching.add(keyOf(slot));
      const request = this.fetchFrom(metadata, leader, slots).finally(() => {
        for (const slot of slots) this.fetching.delete(keyOf(slot));
        this.inFlight.delete(leader);
        this.wake();
      });
      this.inFlight.set(leader, request);
    }
  }

  private async fetchApi(): Promise<{ call: FetchApi; byName: boolean }> {
    const apis = await this.client.listApis();
    const version = Math.min(apis.find((api) => api.apiKey === 1)?.maxVersion ?? 0, this.settings.maxFetchVersion ?? 17);
    if (version < 11) throw new Error(`the broker speaks Fetch up to v${version}; v11 or newer is needed`);
    // Each version's own request layout (13 and 14 still carry a replica id, 15 on do not).
    const createRequest = [fetchV11, fetchV12, fetchV13, fetchV14, fetchV15, fetchV16, fetchV17][version - 11]!.createRequest;
    const flexible = version >= 12;
    const call = createAPI(1, version, createRequest, parseFetchResponse, flexible, flexible) as FetchApi;
    return { call, byName: version < 13 };
  }

  private async fetchFrom(metadata: ClusterMetadata, leader: number, slots: Slot[]): Promise<void> {
    const requested = new Map(slots.map((slot) => [keyOf(slot), { slot, epoch: slot.epoch, offset: slot.fetchOffset }]));
    const topicOf = new Map<string, string>();
    const topics = [...new Set(slots.map((slot) => slot.topic))].map((topic) => {
      const id = this.api!.byName ? topic : metadata.topics.get(topic)!.id;
      topicOf.set(id, topic);
      return {
        topicId: id,
        partitions: slots
          .filter((slot) => slot.topic === topic)
          .map((slot) => ({
            partition: slot.partition,
            currentLeaderEpoch: -1,
            fetchOffset: BigInt(slot.fetchOffset),
            lastFetchedEpoch: -1,
            partitionMaxBytes: this.settings.partitionMaxBytes,
          })),
      };
    });
    try {
      const connection = await connectionTo(this.pool, metadata.brokers.get(leader)!);
      const response = await new Promise<FetchedPartition[]>((resolve, reject) => {
        const callback: Callback<FetchedPartition[]> = (error, result) => (error ? reject(error) : resolve(result!));
        const { maxWaitMs, maxBytes } = this.settings;
        this.api!.call(connection, maxWaitMs, 1, maxBytes, READ_COMMITTED, NO_SESSION, SESSIONLESS_EPOCH, topics, [], '', callback);
      });
      this.failures = 0;
      this.brokerRetryAt.delete(leader);
      this.handle(response, requested, topicOf);
    } catch (error) {
      this.client.clearMetadata();
      this.brokerRetryAt.set(leader, Date.now() + 500);
      this.log.warn({ broker: leader, err: messageOf(error) }, 'Fetch failed; asking again shortly');
    }
  }

  private handle(
    response: FetchedPartition[],
    requested: Map<string, { slot: Slot; epoch: number; offset: number }>,
    topicOf: Map<string, string>,
  ): void {
    for (const fetched of response) {
      const topic = topicOf.get(fetched.topic) ?? fetched.topic;
      const asked = requested.get(`${topic}:${fetched.partition}`);
      if (!asked) continue;
      const { slot, epoch, offset } = asked;
      if (fetched.errorCode === OFFSET_OUT_OF_RANGE) {
        this.deliveries.outOfRange(slot, epoch, fetched.logStartOffset, fetched.highWatermark);
      } else if (fetched.errorCode !== 0) {
        // Leadership moved, or the topic is being created or deleted: look the leader up again.
        this.client.clearMetadata();
        this.log.debug({ topic, partition: fetched.partition, errorCode: fetched.errorCode }, 'Partition not fetched; asking again');
      } else if (fetched.records) {
        const decoded = decodeRecords(fetched.records, topic, fetched.partition, offset, fetched.aborted);
        this.deliveries.received(slot, epoch, decoded.messages, decoded.nextOffset, decoded.bytes);
      }
    }
  }
}
