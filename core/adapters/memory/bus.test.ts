import { busContract } from '../../ports/bus.contract.ts';
import { MemoryBus } from './bus.ts';

busContract('memory', async () => new MemoryBus({ partitions: 3, retryDelayMs: 50 }), { timeoutMs: 5_000, staticTakeoverMs: 100 });
