import { findErrorBy, type Broker, type Connection, type ConnectionPool } from '@platformatic/kafka';

/** True when `error` (or one it wraps) is the Kafka protocol error `id`, e.g. `FENCED_INSTANCE_ID`. */
export function isKafkaError(error: unknown, id: string): boolean {
  return findErrorBy(error as Error, 'apiId', id) !== null;
}

/** A ready connection of `pool` to `broker`. */
export function connectionTo(pool: ConnectionPool, broker: Broker): Promise<Connection> {
  return new Promise((resolve, reject) => pool.get(broker, (error, connection) => (error ? reject(error) : resolve(connection!))));
}
