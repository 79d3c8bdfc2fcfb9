import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Signed notes (c2sp.org/signed-note) with Ed25519, and the checkpoint body they carry (c2sp.org/tlog-checkpoint).
 * A key is named; its id is the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), 0x01 being the Ed25519
 * signature type. The verifier key ("vkey") is `name+hex(id)+base64(0x01 ‖ public key)`.
 */

const ED25519 = 0x01;
// A raw 32-byte Ed25519 key is wrapped in these DER prefixes to make SPKI and PKCS#8 documents (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const NAME = /^[^\s+]+$/u;
const SIGNATURE_LINE = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u;

export interface NoteKey {
  name: string;
  /** The 4-byte key id. */
  id: Buffer;
  publicKey: Buffer;
}

export function isKeyName(name: string): boolean {
  return NAME.test(name) && !name.includes('\n');
}

export function keyIdOf(name: string, publicKey: Uint8Array): Buffer {
  return createHash('sha256')
    .update(`${name}\n`, 'utf8')
    .update(Buffer.of(ED25519))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

export function noteKey(name: string, publicKey: Uint8Array): NoteKey {
  if (!isKeyName(name)) throw new RangeError(`key name ${JSON.stringify(name)} must be non-empty, no spaces or "+"`);
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  return { name, id: keyIdOf(name, publicKey), publicKey: Buffer.from(publicKey) };
}

/** The raw public key of an Ed25519 KeyObject (private or public). */
export function rawPublicKey(key: KeyObject): Buffer {
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' });
  if (der.length !== SPKI_PREFIX.length + 32 || !der.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX)) {
    throw new RangeError('not an Ed25519 key');
  }
  return der.subarray(SPKI_PREFIX.length);
}

/** An Ed25519 private key from its 32-byte seed. */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function formatVkey(key: NoteKey): string {
  return `${key.name}+${key.id.toString('hex')}+${Buffer.concat([Buffer.of(ED25519), key.publicKey]).toString('base64')}`;
}

/** Parses a verifier key; undefined unless it is well formed, Ed25519, and its id matches its name and key. */
export function parseVkey(vkey: string): NoteKey | undefined {
  // Split on the first two "+" only: base64 has "+" of its own.
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) return undefined;
  const [name, idHex, b64] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  if (!isKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex) || !isCanonicalBase64(b64)) return undefined;
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 33 || raw[0] !== ED25519) return undefined;
  const key = noteKey(name, raw.subarray(1));
  return key.id.toString('hex') === idHex ? key : undefined;
}

/** Signs a note's text (non-empty, ending in a newline): the text, a blank line, then the signature line. */
export function signNote(text: string, name: string, privateKey: KeyObject): string {
  if (text === '' || !text.endsWith('\n')) throw new RangeError('a note text ends with a newline');
  const key = noteKey(name, rawPublicKey(privateKey));
  const signature = sign(null, Buffer.from(text, 'utf8'), privateKey);
  return `${text}\n\u2014 ${name} ${Buffer.concat([key.id, signature]).toString('base64')}\n`;
}

export interface OpenedNote {
  text: string;
  /** Names of the given keys whose signature is on the note and verifies. */
  verifiedBy: string[];
}

/**
 * Splits a note into its text and signatures and checks those by the given keys: undefined if the note is
 * malformed, if a signature claiming one of the keys (same name and id) does not verify, or if none verifies.
 */
export function openNote(note: string, keys: readonly NoteKey[]): OpenedNote | undefined {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return undefined;
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  const verifiedBy: string[] = [];
  for (const line of lines) {
    const m = SIGNATURE_LINE.exec(line);
    if (m === null || !isCanonicalBase64(m[2]!)) return undefined;
    const blob = Buffer.from(m[2]!, 'base64');
    if (blob.length < 5) return undefined;
    const key = keys.find((k) => k.name === m[1] && k.id.equals(blob.subarray(0, 4)));
    if (key === undefined) continue;
    const publicKey = createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, key.publicKey]),
      format: 'der',
      type: 'spki',
    });
    if (!verify(null, Buffer.from(text, 'utf8'), publicKey, blob.subarray(4))) return undefined;
    verifiedBy.push(key.name);
  }
  return verifiedBy.length === 0 ? undefined : { text, verifiedBy };
}

/** A checkpoint body: origin, tree size, base64 root hash (c2sp.org/tlog-checkpoint, no extension lines). */
export interface CheckpointBody {
  origin: string;
  size: number;
  root: Buffer;
}

export function formatCheckpoint(c: CheckpointBody): string {
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n`;
}

export function parseCheckpoint(text: string): CheckpointBody | undefined {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') return undefined;
  const [origin, size, root] = lines as [string, string, string];
  if (origin === '' || !/^(0|[1-9][0-9]{0,14})$/.test(size) || !isCanonicalBase64(root)) return undefined;
  const hash = Buffer.from(root, 'base64');
  if (hash.length !== 32) return undefined;
  return { origin, size: digitsToSize(size), root: hash };
}

/** A tree size of at most 15 digits, exact in a JS number (it counts entries; it is never money). */
function digitsToSize(digits: string): number {
  let n = 0;
  for (const d of digits) n = n * 10 + (d.charCodeAt(0) - 48);
  return n;
}

function isCanonicalBase64(s: string): boolean {
  return s.length > 0 && Buffer.from(s, 'base64').toString('base64') === s;
}
