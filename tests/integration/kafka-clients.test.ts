import { busContract } from '../../core/ports/bus.contract.ts';
import { PlatformaticKafkaBus } from '../../core/adapters/kafka-platformatic/bus.ts';
import { ConfluentKafkaBus } from '../../core/adapters/kafka-confluent/bus.ts';
import { silentLogger } from '../../core/log.ts';
import { stack } from '../support/stack.ts';

// The bus contract against every Kafka client measured for the product (bench/kafka-clients.ts).
busContract(
  'kafka (@platformatic/kafka)',
  async () => {
    const env = await stack();
    return new PlatformaticKafkaBus({ brokers: env.KAFKA_BROKERS.split(','), partitions: 3, log: silentLogger });
  },
  { timeoutMs: 60_000 },
);

busContract(
  'kafka (@confluentinc/kafka-javascript)',
  async () => {
    const env = await stack();
    return new ConfluentKafkaBus({ brokers: env.KAFKA_BROKERS.split(','), partitions: 3, log: silentLogger });
  },
  { timeoutMs: 60_000 },
);
