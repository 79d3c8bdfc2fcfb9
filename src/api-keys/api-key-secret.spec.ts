import { apiKeyHasher, isApiKeyShaped, newApiKey } from './api-key-secret.js';

describe('API key secrets', () => {
  it('makes keys of lsk_ and 256 random bits, each different', () => {
    const keys = Array.from({ length: 100 }, newApiKey);
    expect(keys.every(isApiKeyShaped)).toBe(true);
    expect(new Set(keys).size).toBe(100);
    expect(Buffer.from(keys[0]!.slice(4), 'base64url')).toHaveLength(32);
    expect(isApiKeyShaped('lsk_short')).toBe(false);
    expect(isApiKeyShaped(`Lsk_${keys[0]!.slice(4)}`)).toBe(false);
  });

  it('hashes a key the same way under one secret and differently under another', () => {
    const key = newApiKey();
    const a = apiKeyHasher('a-secret-of-at-least-32-bytes-long!!');
    const b = apiKeyHasher('another-secret-of-at-least-32-bytes!!');
    expect(a(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(a(key)).toBe(apiKeyHasher('a-secret-of-at-least-32-bytes-long!!')(key));
    expect(a(key)).not.toBe(b(key));
    expect(a(key)).not.toBe(a(newApiKey()));
  });
});
