import { busContract } from '../../ports/bus.contract.ts';
import { MemoryBus } from './bus.ts';

busContract('memory', async () => new MemoryBus({ partitions: 3 }), 5_000);
