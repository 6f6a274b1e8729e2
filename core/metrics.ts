import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics. One registry per process; components ask for their metrics by name and
 * get the existing one if it was already made, so building a part twice (as tests do) is safe.
 */
export class Metrics {
  readonly registry = new Registry();

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    return (
      (this.registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, labelNames, registers: [this.registry] })
    );
  }

  gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return (this.registry.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  histogram(name: string, help: string, labelNames: string[] = [], buckets?: number[]): Histogram {
    return (
      (this.registry.getSingleMetric(name) as Histogram | undefined) ??
      new Histogram({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) })
    );
  }

  /** The text exposition format, for a `/metrics` endpoint. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
