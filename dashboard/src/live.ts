import type { Tick } from './api.ts';

/**
 * Follows `/api/stream` (Server-Sent Events). EventSource reconnects by itself; after an `error`
 * event from the server (this page fell behind) it is reopened, and `onGap` lets the page refill
 * from the lake. `onState` says whether live prices are flowing.
 */
export function followLive(onTick: (tick: Tick) => void, onState: (live: boolean) => void, onGap: () => void): void {
  let source: EventSource;
  const open = () => {
    source = new EventSource('/api/stream');
    source.addEventListener('hello', (event) => onState((JSON.parse((event as MessageEvent<string>).data) as { live: boolean }).live));
    source.addEventListener('price', (event) => onTick(JSON.parse((event as MessageEvent<string>).data) as Tick));
    source.addEventListener('error', (event) => {
      if (event instanceof MessageEvent) {
        // The server dropped this client: reopen and refill what was missed from the lake.
        source.close();
        onGap();
        setTimeout(open, 1_000);
      } else onState(false);
    });
    source.addEventListener('open', () => onGap());
  };
  open();
}
