import { compressionsAlgorithmsByBitmask } from '@platformatic/kafka';
import type { BusMessage } from '../../ports/bus.ts';
import { LakeError } from '../../errors.ts';

/** A transaction that was aborted: its records from `firstOffset` on are skipped until its abort marker. */
export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

/** What one partition's record batches decode to. */
export interface DecodedRecords {
  messages: BusMessage[];
  /** Sum of the value lengths. */
  bytes: number;
  /** Offset after the last complete batch: where the next fetch of the partition starts. */
  nextOffset: number;
}

const BATCH_HEADER_BYTES = 61;
const COMPRESSION_MASK = 0x07;
const LOG_APPEND_TIME = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const EMPTY = new Uint8Array(0);
const TWO_POW_32 = 4_294_967_296;

/** Reads varints off a buffer, keeping its position (one object, no allocation per number). */
class Cursor {
  buffer: Buffer = Buffer.alloc(0);
  position = 0;

  /** A zigzag varint that fits in 32 bits. */
  varint(): number {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.buffer[this.position++]!;
      value |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && shift < 35);
    return (value >>> 1) ^ -(value & 1);
  }

  /** A zigzag varint of up to 64 bits, as a number (exact up to 2^53). */
  varlong(): number {
    let value = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = this.buffer[this.position++]!;
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80 && scale < 2 ** 70);
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }
}

const cursor = new Cursor();

/**
 * Keys decoded lately: a topic's keys repeat (symbols, venue:market), so comparing a few bytes
 * with a recent key is cheaper than decoding them again.
 */
class KeyCache {
  private readonly bytes: Uint8Array[] = [];
  private readonly strings: string[] = [];
  private next = 0;

  decode(buffer: Buffer, start: number, length: number): string {
    for (let i = 0; i < this.bytes.length; i++) {
      const known = this.bytes[i]!;
      if (known.length !== length) continue;
      let same = true;
      for (let j = 0; j < length; j++) {
        if (known[j] !== buffer[start + j]) {
          same = false;
          break;
        }
      }
      if (same) return this.strings[i]!;
    }
    const key = buffer.toString('utf8', start, start + length);
    if (length <= 64) {
      // A copy: a view would keep the whole fetched response alive.
      this.bytes[this.next] = Uint8Array.prototype.slice.call(buffer, start, start + length);
      this.strings[this.next] = key;
      this.next = (this.next + 1) % 16;
    }
    return key;
  }
}

const keys = new KeyCache();

function int64(buffer: Buffer, at: number): number {
  return buffer.readInt32BE(at) * TWO_POW_32 + buffer.readUInt32BE(at + 4);
}

/**
 * Decodes the record batches (format v2, the only one Kafka 4 writes) that one fetch returned
 * for a partition, into messages at or after `fromOffset`. Values are views on the fetched
 * bytes, never copied; a truncated last batch is left for the next fetch; control batches and
 * the records of aborted transactions are skipped.
 */
export function decodeRecords(
  data: Buffer,
  topic: string,
  partition: number,
  fromOffset: number,
  aborted: AbortedTransaction[] | null,
): DecodedRecords {
  const messages: BusMessage[] = [];
  let bytes = 0;
  let nextOffset = fromOffset;
  const abortedProducers = new Set<bigint>();
  const pendingAborts = aborted ? [...aborted].sort((a, b) => Number(a.firstOffset - b.firstOffset)) : [];
  let position = 0;
  while (position + BATCH_HEADER_BYTES <= data.length) {
    const baseOffset = int64(data, position);
    const end = position + 12 + data.readInt32BE(position + 8);
    if (end > data.length) break;
    const magic = data[position + 16];
    if (magic !== 2)
      throw new LakeError('BUS_UNAVAILABLE', `${topic}/${partition} at ${baseOffset}: record batch format v${magic} is not supported`);
    const attributes = data.readInt16BE(position + 21);
    const lastOffset = baseOffset + data.readInt32BE(position + 23);
    const baseTimestamp = int64(data, position + 27);
    const maxTimestamp = int64(data, position + 35);
    const count = data.readInt32BE(position + 57);
    if (attributes & TRANSACTIONAL) {
      const producerId = data.readBigInt64BE(position + 43);
      while (pendingAborts.length > 0 && pendingAborts[0]!.firstOffset <= BigInt(lastOffset))
        abortedProducers.add(pendingAborts.shift()!.producerId);
      if (attributes & CONTROL) abortedProducers.delete(producerId);
      if (attributes & CONTROL || abortedProducers.has(producerId)) {
        position = end;
        nextOffset = Math.max(nextOffset, lastOffset + 1);
        continue;
      }
    } else if (attributes & CONTROL) {
      position = end;
      nextOffset = Math.max(nextOffset, lastOffset + 1);
      continue;
    }
    if (lastOffset >= fromOffset) {
      const compression = attributes & COMPRESSION_MASK;
      let records = data;
      let start = position + BATCH_HEADER_BYTES;
      let stop = end;
      if (compression !== 0) {
        const algorithm = compressionsAlgorithmsByBitmask[compression];
        if (!algorithm)
          throw new LakeError('BUS_UNAVAILABLE', `${topic}/${partition} at ${baseOffset}: unknown compression ${compression}`);
        records = algorithm.decompressSync(data.subarray(start, end)) as Buffer;
        start = 0;
        stop = records.length;
      }
      bytes += decodeBatch(
        records,
        start,
        stop,
        count,
        topic,
        partition,
        baseOffset,
        attributes & LOG_APPEND_TIME ? maxTimestamp : -1,
        baseTimestamp,
        fromOffset,
        messages,
      );
    }
    nextOffset = Math.max(nextOffset, lastOffset + 1);
    position = end;
  }
  return { messages, bytes, nextOffset };
}

/** The records of one batch; appends those at or after `fromOffset` to `into`, returns their value bytes. */
function decodeBatch(
  records: Buffer,
  start: number,
  stop: number,
  count: number,
  topic: string,
  partition: number,
  baseOffset: number,
  appendTime: number,
  baseTimestamp: number,
  fromOffset: number,
  into: BusMessage[],
): number {
  let bytes = 0;
  cursor.buffer = records;
  cursor.position = start;
  for (let i = 0; i < count && cursor.position < stop; i++) {
    const length = cursor.varint();
    const next = cursor.position + length;
    cursor.position += 1; // attributes: unused in format v2
    const timestampDelta = cursor.varlong();
    const offset = baseOffset + cursor.varint();
    if (offset >= fromOffset) {
      const keyLength = cursor.varint();
      const key = keyLength > 0 ? keys.decode(records, cursor.position, keyLength) : '';
      cursor.position += Math.max(keyLength, 0);
      const valueLength = cursor.varint();
      // A plain view: cheaper to make than a Buffer's subarray, and what the port promises.
      const value = valueLength > 0 ? new Uint8Array(records.buffer, records.byteOffset + cursor.position, valueLength) : EMPTY;
      bytes += value.length;
      into.push({ key, value, topic, partition, offset, timestamp: appendTime >= 0 ? appendTime : baseTimestamp + timestampDelta });
    }
    cursor.position = next;
  }
  return bytes;
}
