import argon2 from 'argon2';

// OWASP's minimum for Argon2id: 19 MiB, 2 iterations, 1 lane.
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => argon2.hash(password, OPTIONS);

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** Verified against for unknown usernames, so that they cost as much time as a wrong password. */
export const DUMMY_HASH: Promise<string> = hashPassword('dummy password never matches anything');
