import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Embedded mode without CHECKPOINT_SIGNING_KEY: an Ed25519 key generated once and kept in the data directory
 * (0600). Losing it does not lose history (the journal and the tree stay), but checkpoints signed with it can
 * then be verified only with the verifier key auditors kept (`GET /v1/audit/checkpoints/keys`).
 */
export async function checkpointKeyFromDataDir(dataDir: string): Promise<string> {
  const file = join(dataDir, 'checkpoint-signing-key.pem');
  try {
    return await readFile(file, 'utf8');
  } catch {
    // first start: generate below
  }
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  return pem;
}
