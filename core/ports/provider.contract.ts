import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PriceProvider } from './provider.ts';
import { toPriceRecord, validatePrice } from '../records/price.ts';

/** How a contract run gets a provider, and which symbols it is known to serve. */
export interface ProviderUnderTest {
  make(): Promise<PriceProvider>;
  /** Symbols the provider serves in this setup. */
  serves: string[];
}

/**
 * The behaviour every price provider must show, live or not: it answers only for the symbols
 * asked, in upper case, under its own name; what it serves stamps into valid records; a symbol
 * it does not know does not stop the others; an aborted request rejects.
 */
export function providerContract(name: string, setup: ProviderUnderTest): void {
  describe(`PriceProvider contract: ${name}`, () => {
    it('serves only the symbols it was asked for, under its own name', async () => {
      const provider = await setup.make();
      const asked = setup.serves.slice(0, 1);
      const result = await provider.fetch(asked, new AbortController().signal);
      assert.ok(result.observations.length > 0, 'something was served');
      assert.deepEqual([...new Set(result.observations.map((o) => o.symbol))], asked);
      assert.ok(result.observations.every((o) => o.source === provider.name || provider.kind === 'replay'));
      await provider.close?.();
    });

    it('serves observations that stamp into valid records', async () => {
      const provider = await setup.make();
      const result = await provider.fetch(setup.serves, new AbortController().signal);
      for (const observation of result.observations) {
        const checked = validatePrice(toPriceRecord(observation, Date.now()));
        assert.ok(checked.ok, `${JSON.stringify(observation)}: ${checked.ok ? '' : checked.reason}`);
      }
      await provider.close?.();
    });

    it('still serves the symbols it knows when asked for one it does not', async () => {
      const provider = await setup.make();
      const result = await provider.fetch([...setup.serves, 'NOSUCHCOIN'], new AbortController().signal);
      const served = new Set(result.observations.map((o) => o.symbol));
      for (const symbol of setup.serves) assert.ok(served.has(symbol), `${symbol} still served`);
      await provider.close?.();
    });

    it('rejects when the request is aborted', async () => {
      const provider = await setup.make();
      const controller = new AbortController();
      controller.abort(new Error('poll cancelled'));
      await assert.rejects(provider.fetch(setup.serves, controller.signal));
      await provider.close?.();
    });
  });
}
