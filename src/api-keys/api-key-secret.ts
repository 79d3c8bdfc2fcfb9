import { createHmac, hkdfSync, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'lsk_';
/** `lsk_` and 256 random bits in base64url (43 characters, no padding). */
const API_KEY_SHAPE = /^lsk_[A-Za-z0-9_-]{43}$/;

export const newApiKey = (): string => `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;

export const isApiKeyShaped = (token: string): boolean => API_KEY_SHAPE.test(token);

/**
 * How keys are stored and found: HMAC-SHA256 under a key derived from the service's JWT secret. A slow password
 * hash (Argon2) protects low-entropy secrets from guessing; a key of 256 random bits cannot be guessed at any
 * speed, so one fast hash is enough, and it lets a presented key be found by one index probe on every request.
 * Keyed, so that a copy of the table alone cannot even confirm a key seen elsewhere. Rotating JWT_SECRET
 * therefore retires every API key (README).
 */
export function apiKeyHasher(jwtSecret: string): (key: string) => string {
  const hmacKey = Buffer.from(hkdfSync('sha256', jwtSecret, 'ledger-service', 'api-key-hash', 32));
  return (key) => createHmac('sha256', hmacKey).update(key, 'utf8').digest('hex');
}
