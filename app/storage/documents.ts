// Documents at rest: a registered mail's document (and a notice's attachment) is encrypted with the
// data vault in four columns, bound by the associated data to its row (a ciphertext moved to another
// row does not decrypt), and checked on the way out against the SHA-256 digest recorded with it (for
// a document, the one its sender signed), so bytes that changed are never handed out as the originals.
import { hash } from 'node:crypto';
import { EpostError } from '../errors/index.js';
import type { Database } from './database.js';
import { insertRows, type Statements } from './statements.js';
import type { DataVault } from './vault.js';

/** The columns a sealed value is kept in. */
export interface SealedColumns {
  key_id: string;
  iv: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
}

export function sealForStorage(vault: DataVault, content: Buffer, associatedData: string): SealedColumns {
  const sealed = vault.encrypt(content, associatedData);
  return { key_id: sealed.keyId, iv: sealed.iv, ciphertext: sealed.ciphertext, auth_tag: sealed.authTag };
}

/** Decrypts sealed columns and checks the content against its recorded base64 SHA-256 digest; `what` names it in the refusal. */
export function openFromStorage(vault: DataVault, row: SealedColumns, associatedData: string, digestSha256Base64: string, what: string): Buffer {
  const content = vault.decrypt(
    { keyId: row.key_id, iv: Buffer.from(row.iv), ciphertext: Buffer.from(row.ciphertext), authTag: Buffer.from(row.auth_tag) },
    associatedData,
  );
  if (hash('sha256', content, 'base64') !== digestSha256Base64) {
    throw new EpostError('ServiceUnavailable', `${what} does not match its recorded digest`);
  }
  return content;
}

const documentData = (registeredMailId: string) => `document:${registeredMailId}`;

/** Stores a mail's document, encrypted, in the caller's transaction (the send transaction). */
export async function storeDocument(tx: Statements, vault: DataVault, registeredMailId: string, content: Buffer): Promise<void> {
  await insertRows(tx, 'documents', [{ registered_mail_id: registeredMailId, ...sealForStorage(vault, content, documentData(registeredMailId)) }]);
}

/**
 * A mail's document, decrypted and checked against the base64 SHA-256 digest its sender signed;
 * undefined once purged at the end of its retention.
 */
export async function readDocument(db: Database, vault: DataVault, registeredMailId: string, digestSha256Base64: string): Promise<Buffer | undefined> {
  const row = await db('documents').where({ registered_mail_id: registeredMailId }).first('key_id', 'iv', 'ciphertext', 'auth_tag');
  if (!row) return undefined;
  return openFromStorage(vault, row, documentData(registeredMailId), digestSha256Base64, `The stored document of registered mail ${registeredMailId} (signed by its sender)`);
}
