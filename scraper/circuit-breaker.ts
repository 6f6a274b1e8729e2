/** The three states of a circuit: calls flow, calls are skipped, or one probe call decides. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/** When a circuit opens and how long it stays open. */
export interface CircuitSettings {
  /** Consecutive failed calls that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit skips calls before one probe is let through, ms. */
  cooldownMs: number;
}

/** What `allow` answers: go ahead (possibly as the half-open probe), or skip until `retryAt`. */
export type CircuitDecision = { allowed: true; probe: boolean } | { allowed: false; retryAt: number; reason: string };

/**
 * A circuit breaker for one provider. After `failureThreshold` consecutive failures it opens:
 * calls are skipped for `cooldownMs`. Then it is half-open: exactly one call (the probe) goes
 * through while others are still skipped; its success closes the circuit, its failure opens
 * it for another cool-down. A call that ended without asking the provider (a cache hit, a
 * rate-limit denial) is reported with `release()` and changes nothing. Local to one process.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private lastError = '';

  constructor(
    readonly name: string,
    private readonly settings: CircuitSettings,
    private readonly now: () => number = Date.now,
    private readonly onChange: (state: CircuitState) => void = () => undefined,
  ) {}

  /** The state now; an open circuit whose cool-down has passed reads as half-open. */
  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.settings.cooldownMs) return 'half_open';
    return this.current;
  }

  /** Whether a call may go to the provider now. A `probe: true` answer must end in `success`, `failure` or `release`. */
  allow(): CircuitDecision {
    const state = this.state;
    if (state === 'closed') return { allowed: true, probe: false };
    if (state === 'half_open' && !this.probing) {
      this.probing = true;
      this.set('half_open');
      return { allowed: true, probe: true };
    }
    const retryAt = this.openedAt + this.settings.cooldownMs;
    const reason =
      state === 'half_open'
        ? `${this.name} skipped: circuit open (half-open, a probe call is in flight)`
        : `${this.name} skipped: circuit open after ${this.failures} consecutive failures until ${new Date(retryAt).toISOString()} (last: ${this.lastError})`;
    return { allowed: false, retryAt, reason };
  }

  /** The provider answered: the circuit closes. */
  success(): void {
    this.failures = 0;
    this.probing = false;
    this.set('closed');
  }

  /** The provider failed: a probe's failure reopens the circuit; enough failures in a row open it. */
  failure(message: string): void {
    this.failures++;
    this.lastError = message;
    const wasProbe = this.probing;
    this.probing = false;
    if (wasProbe || this.failures >= this.settings.failureThreshold) {
      this.openedAt = this.now();
      this.set('open');
    }
  }

  /** The call ended without asking the provider: nothing is learned, a probe slot is freed. */
  release(): void {
    this.probing = false;
  }

  private set(state: CircuitState): void {
    if (state === this.current) return;
    this.current = state;
    this.onChange(state);
  }
}
