import { describe, expect, it } from 'vitest';
import { preload } from './preload.ts';

describe('preload', () => {
  it('imports once and then holds the module synchronously', async () => {
    let imports = 0;
    const module = preload(async () => {
      imports++;
      return { name: 'editor' };
    });
    expect(module.value).toBeUndefined();
    const [a, b] = await Promise.all([module.load(), module.load()]);
    expect(a).toBe(b);
    expect(module.value).toBe(a);
    await module.load();
    expect(imports).toBe(1);
  });

  it('reports a failed import and tries again on the next load', async () => {
    let attempt = 0;
    const module = preload(async () => {
      attempt++;
      if (attempt === 1) throw new Error('chunk missing');
      return 42;
    });
    await expect(module.load()).rejects.toThrow('chunk missing');
    expect(module.error?.message).toBe('chunk missing');
    expect(module.value).toBeUndefined();
    await expect(module.load()).resolves.toBe(42);
    expect(module.value).toBe(42);
    expect(module.error).toBeUndefined();
    expect(attempt).toBe(2);
  });

  it('turns a non-Error rejection into an Error', async () => {
    const module = preload(() => Promise.reject('offline'));
    await expect(module.load()).rejects.toThrow('offline');
    expect(module.error).toBeInstanceOf(Error);
  });
});
