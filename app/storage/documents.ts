// Registered documents at rest: encrypted with the data vault, bound by the associated data to their
// registered mail (a ciphertext moved to another mail's row does not decrypt), and checked on the
// way out against the SHA-256 digest the sender signed, so a stored document that changed is never
// handed out as the one registered.
import { createHash } from 'node:crypto';
import { EpostError } from '../errors/index.js';
import type { Database } from './database.js';
import type { DataVault } from './vault.js';

const associatedData = (registeredMailId: string) => `document:${registeredMailId}`;

/** Stores a mail's document, encrypted, with the caller's handle (the send transaction). */
export async function storeDocument(db: Database, vault: DataVault, registeredMailId: string, content: Buffer): Promise<void> {
  const sealed = vault.encrypt(content, associatedData(registeredMailId));
  await db('documents').insert({ registered_mail_id: registeredMailId, key_id: sealed.keyId, iv: sealed.iv, ciphertext: sealed.ciphertext, auth_tag: sealed.authTag });
}

/**
 * A mail's document, decrypted and checked against the base64 SHA-256 digest its sender signed;
 * undefined once purged at the end of its retention.
 */
export async function readDocument(db: Database, vault: DataVault, registeredMailId: string, digestSha256Base64: string): Promise<Buffer | undefined> {
  const row = await db('documents').where({ registered_mail_id: registeredMailId }).first();
  if (!row) return undefined;
  const content = vault.decrypt(
    { keyId: row.key_id, iv: Buffer.from(row.iv), ciphertext: Buffer.from(row.ciphertext), authTag: Buffer.from(row.auth_tag) },
    associatedData(registeredMailId),
  );
  if (createHash('sha256').update(content).digest('base64') !== digestSha256Base64) {
    throw new EpostError('ServiceUnavailable', `The stored document of registered mail ${registeredMailId} does not match the digest its sender signed`);
  }
  return content;
}
