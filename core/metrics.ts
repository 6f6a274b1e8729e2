import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';

/** What `Metrics` can make. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One metric as the README lists it. */
export interface MetricDoc {
  name: string;
  type: MetricType;
  help: string;
  labels: string[];
}

/**
 * Prometheus metrics. One registry per process; components ask for their metrics by name and
 * get the existing one if it was already made, so building a part twice (as tests do) is safe.
 * Asking for a name again with another type, help text or label names throws: one metric, one
 * meaning. The Prometheus conventions are enforced here: a counter's name ends in `_total`, no
 * other type's does.
 *
 * With `{ processMetrics: true }` (each process's main does this) the registry also carries
 * prom-client's default process and Node.js runtime metrics (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, `nodejs_heap_size_used_bytes`, ...).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly docs = new Map<string, MetricDoc>();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    return this.make(
      { name, type: 'counter', help, labels: labelNames },
      () => new Counter({ name, help, labelNames, registers: [this.registry] }),
    );
  }

  gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return this.make(
      { name, type: 'gauge', help, labels: labelNames },
      () => new Gauge({ name, help, labelNames, registers: [this.registry] }),
    );
  }

  histogram(name: string, help: string, labelNames: string[] = [], buckets?: number[]): Histogram {
    return this.make(
      { name, type: 'histogram', help, labels: labelNames },
      () => new Histogram({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) }),
    );
  }

  /** The metrics made through this object (not the default ones), in the order they were made. */
  list(): MetricDoc[] {
    return [...this.docs.values()];
  }

  /** The text exposition format, for a `/metrics` endpoint. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  private make<M extends Metric>(doc: MetricDoc, create: () => M): M {
    const known = this.docs.get(doc.name);
    if (known) {
      if (known.type !== doc.type || known.help !== doc.help || known.labels.join() !== doc.labels.join()) {
        throw new TypeError(`metric ${doc.name} asked for as ${describe(doc)}, but it was made as ${describe(known)}`);
      }
      return this.registry.getSingleMetric(doc.name) as M;
    }
    if ((doc.type === 'counter') !== doc.name.endsWith('_total')) {
      throw new TypeError(`metric ${doc.name}: a counter's name ends in _total, and only a counter's (it is a ${doc.type})`);
    }
    const metric = create();
    this.docs.set(doc.name, doc);
    return metric;
  }
}

function describe(doc: MetricDoc): string {
  return `a ${doc.type} "${doc.help}" labelled {${doc.labels.join(',')}}`;
}
