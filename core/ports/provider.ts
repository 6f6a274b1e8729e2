import type { PriceObservation } from '../records/price.ts';

/** What one provider call produced. */
export interface ProviderResult {
  /** Observations that parsed; they are validated again as records before publishing. */
  observations: PriceObservation[];
  /** Parts of the response that could not be mapped, with the reason; they go to the dead-letter path. */
  rejects: { payload: unknown; reason: string }[];
}

/**
 * A source of prices. `fetch` asks for the given upper-case symbols and resolves with what the
 * provider served; a symbol it does not know is simply absent from `observations`. It rejects
 * (with a `LakeError`) when the provider could not be asked at all: network, HTTP status, an
 * error body, a response that is not the documented shape. It honours `signal`.
 */
export interface PriceProvider {
  readonly name: string;
  /**
   * `live`: real market data now; `replay`: real history from a file; `synthetic`: made up.
   * Synthetic data never mixes silently into a live lake (see `core/lake-location.ts`).
   */
  readonly kind: 'live' | 'replay' | 'synthetic';
  fetch(symbols: string[], signal: AbortSignal): Promise<ProviderResult>;
  close?(): Promise<void>;
}
