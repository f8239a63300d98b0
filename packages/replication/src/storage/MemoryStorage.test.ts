import { storageContract } from '../testing/storageContract.ts';
import { MemoryStorage } from './MemoryStorage.ts';

storageContract('MemoryStorage', async () => new MemoryStorage());
