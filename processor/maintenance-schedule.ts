import { LakeSession } from '../core/adapters/ducklake/session.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { messageOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { maintainLake, type MaintenancePolicy } from './maintenance.ts';

/** How often, and with which policy, the scheduled maintenance runs. */
export interface MaintenanceSchedule extends Omit<MaintenancePolicy, 'rollupsSinceMs'> {
  intervalMs: number;
  writerMemoryLimit: string;
}

/**
 * Runs the lake maintenance of `npm run compact` every `intervalMs` in this process, on a DuckDB
 * session of its own (the processor's commits go on meanwhile). A pass still running when the next
 * is due makes that one skip. `stop()` waits for a running pass.
 */
export function scheduleMaintenance(lake: LakeLocation, schedule: MaintenanceSchedule, log: Logger): { stop(): Promise<void> } {
  const mlog = log.child({ component: 'maintenance' });
  let running: Promise<void> | undefined;
  let stopped = false;
  const pass = () => {
    if (running || stopped) return;
    running = (async () => {
      let session: LakeSession | undefined;
      try {
        session = await LakeSession.open(lake, { readOnly: false, memoryLimit: schedule.writerMemoryLimit, threads: 1 });
        const started = performance.now();
        const report = await maintainLake(await session.connect(), { ...schedule, rollupsSinceMs: Date.now() - 2 * 86_400_000 }, mlog);
        mlog.info({ ...report, ms: Math.round(performance.now() - started) }, 'Maintained the lake');
      } catch (error) {
        mlog.warn({ err: messageOf(error) }, 'The maintenance pass failed; the next one tries again');
      } finally {
        session?.close();
        running = undefined;
      }
    })();
  };
  const timer = setInterval(pass, schedule.intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
