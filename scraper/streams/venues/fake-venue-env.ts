import type { FakeVenue } from './fake-venue.ts';

/**
 * The variables that point the trade streams at running fake venues: `STREAM_VENUES` (in the order
 * given) and each venue's `*_WS_URL` and `*_BASE_URL`, to lay over the environment.
 */
export function fakeVenueEnv(fakes: Iterable<FakeVenue>): Record<string, string> {
  const list = [...fakes];
  const env: Record<string, string> = { STREAM_VENUES: list.map((fake) => fake.venue).join(',') };
  for (const fake of list) {
    env[`${fake.venue.toUpperCase()}_WS_URL`] = fake.wsUrl;
    env[`${fake.venue.toUpperCase()}_BASE_URL`] = fake.restUrl;
  }
  return env;
}
