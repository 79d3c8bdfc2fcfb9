import { Inject, Injectable } from '@nestjs/common';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { CONFIG, type Config } from '../config/config.js';
import { formatCheckpoint, formatVkey, type NoteKey, noteKey, rawPublicKey, signNote } from '../core/signed-note.js';

/** The checkpoint signing key (SPEC 14), loaded once; its private half never leaves this object. */
@Injectable()
export class CheckpointSigner {
  private readonly privateKey: KeyObject;
  readonly key: NoteKey;
  readonly vkey: string;
  private readonly origin: string;

  constructor(@Inject(CONFIG) config: Config) {
    // main.ts resolves the key (the variable, or the data directory's in embedded mode) before the app starts.
    this.privateKey = createPrivateKey(config.checkpointSigningKey!);
    this.key = noteKey(config.checkpointKeyName, rawPublicKey(this.privateKey));
    this.vkey = formatVkey(this.key);
    this.origin = config.checkpointOrigin;
  }

  get keyId(): string {
    return this.key.id.toString('hex');
  }

  /** The signed note of a ledger's tree: `<origin>/<ledger name>`, the size, the base64 root. */
  sign(ledgerName: string, size: number, root: Buffer): string {
    return signNote(
      formatCheckpoint({ origin: `${this.origin}/${ledgerName}`, size, root }),
      this.key.name,
      this.privateKey,
    );
  }
}
