import { cacheContract } from '../../ports/cache.contract.ts';
import { MemoryCache } from './cache.ts';

cacheContract('memory', async () => new MemoryCache());
