import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LakeError } from '../core/errors.ts';
import { loadProcessorConfig } from './config.ts';

describe('processor config', () => {
  it('uses the documented defaults when nothing is set', () => {
    const config = loadProcessorConfig({});
    assert.equal(config.flushIntervalMs, 1_000);
    assert.equal(config.flushMaxRecords, 100_000);
    assert.equal(config.maintenanceIntervalMs, 0);
    assert.equal(config.snapshotRetentionMs, 7 * 86_400_000);
    assert.equal(config.maxBufferedBytes, 64 * 1024 * 1024);
    assert.equal(config.kafkaGroup, 'cryptolake-processor');
    assert.equal(config.kafkaTopic, 'prices');
    assert.equal(config.deadLetterTopic, 'prices.dead-letter');
  });

  it('rejects an invalid value with one line naming the variable and the value', () => {
    assert.throws(
      () => loadProcessorConfig({ FLUSH_INTERVAL_MS: 'soon' }),
      (error: unknown) => error instanceof LakeError && error.code === 'CONFIG_INVALID' && /FLUSH_INTERVAL_MS="soon"/.test(error.message),
    );
  });
});
