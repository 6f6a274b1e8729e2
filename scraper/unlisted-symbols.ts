import { messageOf } from '../core/errors.ts';
import type { PriceProvider, ProviderResult } from '../core/ports/provider.ts';
import { failureKind, type CallContext, type ProviderCall } from './fallback.ts';
import { isUnlistedRefusal } from './providers/http.ts';

/**
 * The symbols each provider refused as not listed, each remembered for `ttlMs` on the injected
 * clock. Local to one process: every replica finds out for itself (the requests of the search are
 * shared answers, so the provider sees them once per window whatever the number of replicas).
 */
export class UnlistedSymbols {
  private readonly entries = new Map<string, { until: number; why: string }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** Why `provider` is not asked for `symbol` now, as a fallback reason; `undefined` when it may be asked. */
  reason(provider: string, symbol: string): string | undefined {
    const key = `${provider}:${symbol}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return `unlisted: ${provider} does not list ${symbol} (${entry.why}); asked of the next provider until ${new Date(entry.until).toISOString()}`;
  }

  /** Remembers that `provider` refused `symbol` as unknown (`why`: what it answered). */
  remember(provider: string, symbol: string, why: string): void {
    this.entries.set(`${provider}:${symbol}`, { until: this.now() + this.ttlMs, why });
  }
}

const NOTHING: ProviderResult = { observations: [], rejects: [] };

/**
 * Wraps a provider call so that one symbol a provider does not list never costs the other symbols
 * their provider:
 * 1. symbols remembered as unlisted are not asked; the call notes them in `context.notes.leftOut`
 *    with their reason, and the chain hands them to the next provider;
 * 2. a request refused for naming unlisted symbols (`ProviderHttpError.unlisted`) is asked again
 *    without the ones the provider named; when it did not say which (Binance, Kraken), the batch is
 *    split in halves asked one after the other, down to the symbol refused alone. Every part goes
 *    through `call` (the guard: shared answers, circuit, rate limit, retries), so the search stays
 *    inside the poll's rate budget and deadline; a part that cannot be asked leaves its symbols to
 *    the next provider with its own reason, and the others are still served;
 * 3. each symbol found is remembered (`memory`) and reported to `found`.
 */
export function isolateUnlisted(
  call: ProviderCall,
  memory: UnlistedSymbols,
  found: (provider: string, symbol: string, why: string) => void = () => undefined,
): ProviderCall {
  async function ask(provider: PriceProvider, symbols: string[], signal: AbortSignal, context: CallContext): Promise<ProviderResult> {
    try {
      return await call(provider, symbols, signal, context);
    } catch (error) {
      if (!isUnlistedRefusal(error)) throw error;
      const why = error.message;
      const named = error.unlisted.filter((symbol) => symbols.includes(symbol));
      const unlisted = named.length > 0 ? named : symbols.length === 1 ? symbols : [];
      if (unlisted.length === 0) return askInHalves(provider, symbols, signal, context);
      for (const symbol of unlisted) {
        memory.remember(provider.name, symbol, why);
        context.notes.leftOut.set(symbol, memory.reason(provider.name, symbol) ?? `unlisted: ${why}`);
        found(provider.name, symbol, why);
      }
      const rest = symbols.filter((symbol) => !unlisted.includes(symbol));
      return rest.length === 0 ? NOTHING : ask(provider, rest, signal, context);
    }
  }

  async function askInHalves(provider: PriceProvider, symbols: string[], signal: AbortSignal, context: CallContext) {
    const middle = Math.ceil(symbols.length / 2);
    const answers: ProviderResult[] = [];
    let failure: unknown;
    for (const part of [symbols.slice(0, middle), symbols.slice(middle)]) {
      try {
        answers.push(await ask(provider, part, signal, context));
      } catch (error) {
        failure ??= error;
        for (const symbol of part) context.notes.leftOut.set(symbol, `${failureKind(error)}: ${messageOf(error)}`);
      }
    }
    if (answers.length === 0) throw failure;
    return { observations: answers.flatMap((a) => a.observations), rejects: answers.flatMap((a) => a.rejects) };
  }

  return (provider, symbols, signal, context) => {
    const asked = symbols.filter((symbol) => {
      const reason = memory.reason(provider.name, symbol);
      if (reason) context.notes.leftOut.set(symbol, reason);
      return !reason;
    });
    return asked.length === 0 ? Promise.resolve(NOTHING) : ask(provider, asked, signal, context);
  };
}
