import { generateKeyPairSync } from 'node:crypto';
import {
  formatCheckpoint,
  formatVkey,
  noteKey,
  openNote,
  parseCheckpoint,
  parseVkey,
  privateKeyFromSeed,
  rawPublicKey,
  signNote,
} from './signed-note.js';

// Vectors of Go's golang.org/x/mod/sumdb/note tests (note_test.go): Peter Neumann's key pair, a text, and its
// signature; Enoch Root's verifier key and signature on the same text.
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const peterPrivate = privateKeyFromSeed(Buffer.from(PETER_SKEY.split('+').slice(4).join('+'), 'base64').subarray(1));
const peter = parseVkey(PETER_VKEY)!;
const enoch = parseVkey(ENOCH_VKEY)!;

describe('signed notes (c2sp.org/signed-note)', () => {
  it("derives the published verifier key and key id from Peter Neumann's private key", () => {
    const key = noteKey('PeterNeumann', rawPublicKey(peterPrivate));
    expect(key.id.toString('hex')).toBe('c74f20a3');
    expect(formatVkey(key)).toBe(PETER_VKEY);
  });

  it('signs the text exactly as the Go reference does (Ed25519 is deterministic)', () => {
    expect(signNote(TEXT, 'PeterNeumann', peterPrivate)).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('opens a note with the signatures of known keys and ignores the others', () => {
    expect(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter])).toEqual({
      text: TEXT,
      verifiedBy: ['PeterNeumann'],
    });
    expect(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter, enoch])!.verifiedBy).toEqual([
      'PeterNeumann',
      'EnochRoot',
    ]);
    expect(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [])).toBeUndefined();
  });

  it('refuses a forged or damaged signature, an altered text and malformed notes', () => {
    const forged = PETER_SIG.slice(0, 60) + 'ABCD' + PETER_SIG.slice(60);
    expect(openNote(`${TEXT}\n${forged}`, [peter])).toBeUndefined();
    expect(openNote(`${TEXT.replace('problem', 'Problem')}\n${PETER_SIG}`, [peter])).toBeUndefined();
    for (const bad of [TEXT, `${TEXT}\n`, `${TEXT}\n${PETER_SIG.slice(0, -1)}`, `${TEXT}\n${PETER_SIG}Unexpected.\n`]) {
      expect(openNote(bad, [peter])).toBeUndefined();
    }
    // A signature by another key of the same name is not Peter's.
    const other = generateKeyPairSync('ed25519').privateKey;
    expect(openNote(signNote(TEXT, 'PeterNeumann', other), [peter])).toBeUndefined();
  });

  it('parses only well-formed Ed25519 verifier keys whose id matches', () => {
    expect(parseVkey(PETER_VKEY)!.name).toBe('PeterNeumann');
    const b = Buffer.from(PETER_VKEY);
    for (let i = 0; i < b.length; i += 1) {
      const mangled = Buffer.from(b);
      mangled[i]! += 1;
      expect(parseVkey(mangled.toString())).toBeUndefined();
    }
    expect(parseVkey(PETER_VKEY.slice(0, -1))).toBeUndefined();
    // Keys whose base64 holds "+" (about half of them) parse too.
    for (let i = 0; i < 40; i += 1) {
      const key = noteKey('k', rawPublicKey(generateKeyPairSync('ed25519').privateKey));
      expect(parseVkey(formatVkey(key))).toEqual(key);
    }
    // Go's: an unknown algorithm byte, with the key hash adjusted to match.
    expect(parseVkey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toBeUndefined();
  });
});

describe('checkpoint bodies (c2sp.org/tlog-checkpoint)', () => {
  const root = Buffer.alloc(32, 7);

  it('round-trips origin, size and root', () => {
    const text = formatCheckpoint({ origin: 'ledger-service/main', size: 42, root });
    expect(text).toBe(`ledger-service/main\n42\n${root.toString('base64')}\n`);
    expect(parseCheckpoint(text)).toEqual({ origin: 'ledger-service/main', size: 42, root });
  });

  it('refuses a malformed size or root', () => {
    for (const bad of [
      'o\n042\nAAAA\n',
      `o\n-1\n${root.toString('base64')}\n`,
      'o\n1\nAAAA\n',
      `o\n1\n${root.toString('base64')}`,
    ]) {
      expect(parseCheckpoint(bad)).toBeUndefined();
    }
  });

  it('a signed checkpoint opens with its key and names its size and root', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = noteKey('ledger-service', rawPublicKey(privateKey));
    const note = signNote(formatCheckpoint({ origin: 'ledger-service/main', size: 3, root }), key.name, privateKey);
    const opened = openNote(note, [key])!;
    expect(parseCheckpoint(opened.text)).toEqual({ origin: 'ledger-service/main', size: 3, root });
  });
});
