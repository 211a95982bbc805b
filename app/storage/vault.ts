// Data at rest: documents and the signed SOAP requests are encrypted with AES-256-GCM. The
// additional authenticated data binds each ciphertext to its row, so ciphertexts cannot be swapped.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { pooledRandomBytes } from '../identifiers/index.js';
import fs from 'node:fs';
import path from 'node:path';

export interface Sealed {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

export class DataVault {
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the data key must be 32 bytes (AES-256)');
    this.#key = key;
    // A key id lets a later key rotation know which key opens which row, without revealing the key.
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  encrypt(plaintext: Buffer, associatedData: string): Sealed {
    const iv = pooledRandomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { keyId: this.keyId, iv, ciphertext, authTag: cipher.getAuthTag() };
  }

  decrypt(sealed: Sealed, associatedData: string): Buffer {
    if (sealed.keyId !== this.keyId) throw new Error(`data sealed with key ${sealed.keyId}, which is not configured`);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.iv);
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(sealed.authTag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  }
}

/**
 * The configured key (EPOST_DATA_KEY, base64 of 32 bytes) or, for development only, a key generated
 * once and kept beside the development PKI.
 */
export function loadDataVault(dataKeyBase64: string | undefined, devKeyFile: string | undefined): DataVault {
  if (dataKeyBase64) return new DataVault(Buffer.from(dataKeyBase64, 'base64'));
  if (!devKeyFile) throw new Error('EPOST_DATA_KEY is not set and no development key is allowed');
  if (!fs.existsSync(devKeyFile)) {
    fs.mkdirSync(path.dirname(devKeyFile), { recursive: true });
    fs.writeFileSync(devKeyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return new DataVault(Buffer.from(fs.readFileSync(devKeyFile, 'utf8').trim(), 'base64'));
}
