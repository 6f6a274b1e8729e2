import { hostname } from 'node:os';
import { messageOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Bus } from '../core/ports/bus.ts';
import type { Cache } from '../core/ports/cache.ts';
import type { PriceProvider } from '../core/ports/provider.ts';
import type { ScraperStatus } from '../core/records/status.ts';
import { StatusBoard } from '../core/status-board.ts';
import { ProviderChain, type ChainResult, type ProviderCall } from './fallback.ts';
import { scraperMetrics } from './scraper-metrics.ts';

/** What the scraper needs from its configuration. */
export interface ScraperSettings {
  symbols: string[];
  pollIntervalMs: number;
  kafkaTopic: string;
  deadLetterTopic: string;
}

/** Everything a scraper is built from; `call` is the guarded provider call (`guarded-call.ts`), `now` for tests. */
export interface ScraperDeps {
  bus: Bus;
  cache: Cache;
  providers: PriceProvider[];
  config: ScraperSettings;
  log: Logger;
  metrics: Metrics;
  now?: () => number;
  call?: ProviderCall;
  instance?: string;
}

/** What one poll did. `exhausted` is true when every provider is a replay that reached its end. */
export interface PollSummary {
  published: number;
  deadLettered: number;
  unserved: string[];
  exhausted: boolean;
}

/** A running scraper. */
export interface Scraper {
  /** Polls now, then every `pollIntervalMs` (start to start); a poll never overlaps the previous one. */
  start(): void;
  /** Stops polling; resolves once an in-flight poll has published. Closes nothing it was given. */
  stop(): Promise<void>;
  /** One poll: ask the chain, publish good records in one call and dead letters in another, report status. */
  pollOnce(): Promise<PollSummary>;
  /** The status as last published. */
  status(): ScraperStatus;
}

/**
 * The scraper: polls the provider chain, publishes valid prices to the prices topic keyed by
 * symbol, everything invalid to the dead-letter topic keyed by provider, and its status to the
 * status board after every poll. When a replay reaches the end of its file the scraper logs it
 * once and keeps running idle (polls hand over nothing) until stopped.
 */
export function createScraper(deps: ScraperDeps): Scraper {
  const { bus, config, metrics } = deps;
  const log = deps.log.child({ component: 'scraper' });
  const now = deps.now ?? Date.now;
  const chain = new ProviderChain(deps.providers, now, deps.call);
  const board = new StatusBoard(deps.cache);
  const m = scraperMetrics(metrics);
  // Known label values start at 0, so rates and failure panels show every provider from the first scrape.
  for (const provider of deps.providers) {
    m.deadLetters.inc({ source: provider.name }, 0);
    m.fallbacks.inc({ from: provider.name }, 0);
    m.requests.inc({ provider: provider.name, outcome: 'ok' }, 0);
  }
  const synthetic = deps.providers.some((provider) => provider.kind === 'synthetic');
  const replays = deps.providers.filter((provider) => provider.kind === 'replay') as (PriceProvider & { exhausted?: boolean })[];
  let current: ScraperStatus = {
    part: 'scraper',
    instance: deps.instance ?? `${hostname()}-${process.pid}`,
    updatedAt: now(),
    synthetic,
    symbols: config.symbols,
    polls: 0,
    lastPollAt: null,
    published: 0,
    deadLettered: 0,
    unserved: [],
    providers: chain.providerStatus(),
    recentFallbacks: [],
  };
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  // Polls run one after another, whether started by the timer or by a direct `pollOnce()`.
  let queue: Promise<unknown> = Promise.resolve();
  let reportedEnd = false;

  async function publish(result: ChainResult): Promise<{ published: number; deadLettered: number }> {
    let published = 0;
    let deadLettered = 0;
    if (result.records.length > 0) {
      try {
        await bus.publish(
          config.kafkaTopic,
          result.records.map((record) => ({ key: record.symbol, value: JSON.stringify(record) })),
        );
        published = result.records.length;
      } catch (error) {
        m.publishFailures.inc();
        log.error(
          { topic: config.kafkaTopic, records: result.records.length, err: messageOf(error) },
          'Publishing prices failed; these records are lost',
        );
      }
    }
    if (result.deadLetters.length > 0) {
      try {
        await bus.publish(
          config.deadLetterTopic,
          result.deadLetters.map((letter) => ({ key: letter.source, value: JSON.stringify(letter) })),
        );
        deadLettered = result.deadLetters.length;
        for (const letter of result.deadLetters) m.deadLetters.inc({ source: letter.source });
      } catch (error) {
        m.publishFailures.inc();
        log.error(
          { topic: config.deadLetterTopic, letters: result.deadLetters.length, err: messageOf(error) },
          'Publishing dead letters failed; they are lost',
        );
      }
    }
    return { published, deadLettered };
  }

  function pollOnce(): Promise<PollSummary> {
    const poll = queue.then(runPoll);
    queue = poll.catch(() => undefined);
    return poll;
  }

  async function runPoll(): Promise<PollSummary> {
    // The poll's time budget is its interval: retries and rate-limit waits end before the next poll.
    const result = await chain.fetch(config.symbols, new AbortController().signal, now() + config.pollIntervalMs);
    const { published, deadLettered } = await publish(result);
    m.polls.inc();
    m.published.inc(published);
    m.unserved.set(result.unserved.length);
    for (const attempt of result.attempts) {
      m.requests.inc({ provider: attempt.provider, outcome: attempt.outcome });
      m.latency.observe({ provider: attempt.provider }, attempt.latencyMs / 1000);
    }
    for (const fallback of result.fallbacks) m.fallbacks.inc({ from: fallback.from });
    if (result.fallbacks.length > 0) log.debug({ fallbacks: result.fallbacks }, 'Symbols fell back to later providers');
    if (result.records.length === 0 && result.unserved.length > 0) {
      const providers = result.attempts.map((attempt) => ({
        provider: attempt.provider,
        outcome: attempt.outcome,
        error: attempt.error ?? 'served none of the symbols asked',
      }));
      log.warn({ unserved: result.unserved, providers }, 'No provider served any symbol');
    }
    const exhausted =
      replays.length > 0 && replays.length === deps.providers.length && replays.every((provider) => provider.exhausted === true);
    if (exhausted && !reportedEnd) {
      reportedEnd = true;
      log.info({ providers: replays.map((provider) => provider.name) }, 'Replay reached the end of its file; polling on idle');
    }
    const at = now();
    current = {
      ...current,
      updatedAt: at,
      polls: current.polls + 1,
      lastPollAt: at,
      published: current.published + published,
      deadLettered: current.deadLettered + deadLettered,
      unserved: result.unserved,
      providers: chain.providerStatus(),
      recentFallbacks: chain.recentFallbacks(),
    };
    await board.publish('scraper', current);
    return { published, deadLettered, unserved: result.unserved, exhausted };
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      const started = performance.now();
      const poll = pollOnce().catch((error: unknown) => log.error({ err: messageOf(error) }, 'Poll failed'));
      void poll.finally(() => {
        if (running) schedule(Math.max(0, config.pollIntervalMs - (performance.now() - started)));
      });
    }, delayMs);
  }

  return {
    start() {
      if (running) return;
      running = true;
      log.info(
        { providers: deps.providers.map((provider) => provider.name), symbols: config.symbols, pollIntervalMs: config.pollIntervalMs },
        'Scraper started',
      );
      schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await queue;
      log.info({ polls: current.polls, published: current.published }, 'Scraper stopped');
    },
    pollOnce,
    status: () => current,
  };
}
