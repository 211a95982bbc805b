// The key that seals evidences: a PKCS#8 file (the default) or a key inside a PKCS#11 token (an HSM;
// tested with SoftHSM2) that never leaves it. Both produce the XML-DSig SignatureValue octets
// directly: PKCS#1 v1.5 for RSA, r || s for ECDSA (XML-DSig 1.1, 6.4.3).
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { EpostError } from '../errors/index.js';
import type { x509 } from '../pki/index.js';
import { ECDSA_SHA256, RSA_SHA256 } from './xml.js';

export interface SealingKey {
  /** XML-DSig SignatureMethod URI. */
  readonly signatureMethod: string;
  /** Signs `data` with SHA-256 and returns the SignatureValue octets. */
  sign(data: Buffer): Buffer;
  /** Where the key lives, for logs and error messages (never the key). */
  readonly description: string;
}

function methodFor(type: string | undefined): string {
  if (type === 'rsa') return RSA_SHA256;
  if (type === 'ec') return ECDSA_SHA256;
  throw new EpostError('UnsupportedAlgorithm', `Sealing keys must be RSA or EC, not ${type}`);
}

/** Refuses a key that is not the certificate's: signs a random challenge and verifies it with the certificate. */
export function assertKeyMatchesCertificate(key: SealingKey, certificate: x509.X509Certificate): void {
  const publicKey = createPublicKey({ key: Buffer.from(certificate.publicKey.rawData), format: 'der', type: 'spki' });
  if (methodFor(publicKey.asymmetricKeyType) !== key.signatureMethod) {
    throw new EpostError('InvalidSecurityToken', 'The sealing private key does not belong to the sealing certificate (other key type)');
  }
  const challenge = randomBytes(32);
  let ok = false;
  try {
    ok = verify('sha256', challenge, { key: publicKey, dsaEncoding: 'ieee-p1363' }, key.sign(challenge));
  } catch (err) {
    throw new EpostError('InvalidSecurityToken', `The sealing key (${key.description}) cannot sign`, err);
  }
  if (!ok) throw new EpostError('InvalidSecurityToken', 'The sealing private key does not belong to the sealing certificate');
}

/** A PKCS#8 (or PKCS#1/SEC1) PEM private key held in memory. */
export function fileSealingKey(keyPem: string): SealingKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new EpostError('InvalidSecurityToken', 'The sealing private key is not readable', err);
  }
  const signatureMethod = methodFor(key.asymmetricKeyType);
  return {
    signatureMethod,
    description: 'key file',
    sign: (data) => sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }),
  };
}

export interface Pkcs11KeyOptions {
  /** Path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** Label of the token holding the key. */
  tokenLabel: string;
  /** CKA_LABEL of the private key. */
  keyLabel: string;
  /** User PIN of the token. */
  pin: string;
}

export interface Pkcs11SealingKey extends SealingKey {
  /** Logs out and finalizes the library (tests; a running service keeps its session). */
  close(): void;
}

/** A key found by label in a PKCS#11 token, used through one logged-in session for the life of the process. */
export function pkcs11SealingKey(options: Pkcs11KeyOptions): Pkcs11SealingKey {
  let mod: graphene.Module;
  try {
    mod = graphene.Module.load(options.module, 'epost-sealing');
    mod.initialize();
  } catch (err) {
    throw new EpostError('InvalidSecurityToken', `The PKCS#11 library ${options.module} cannot be loaded`, err);
  }
  // The library stays initialised on failure: another user in this process may share it.
  const fail = (reason: string, cause?: unknown): never => {
    throw new EpostError('InvalidSecurityToken', reason, cause);
  };
  const slots = mod.getSlots(true);
  let slot: graphene.Slot | undefined;
  for (let i = 0; i < slots.length; i++) {
    const candidate = slots.items(i);
    if (candidate.getToken().label.trim() === options.tokenLabel) slot = candidate;
  }
  if (!slot) return fail(`No PKCS#11 token labelled "${options.tokenLabel}" is present`);
  const session = slot.open(graphene.SessionFlag.SERIAL_SESSION);
  let key: graphene.PrivateKey;
  try {
    try {
      session.login(options.pin, graphene.UserType.USER);
    } catch (err) {
      // The login state belongs to the process, not the session: another session may hold it already.
      if (!/CKR_USER_ALREADY_LOGGED_IN/.test((err as Error)?.message ?? '')) return fail(`Cannot log in to the PKCS#11 token "${options.tokenLabel}"`, err);
    }
    const found = session.find({ class: graphene.ObjectClass.PRIVATE_KEY, label: options.keyLabel });
    if (found.length !== 1) return fail(`The PKCS#11 token holds ${found.length} private keys labelled "${options.keyLabel}", not one`);
    key = found.items(0).toType<graphene.PrivateKey>();
    if (key.type !== graphene.KeyType.RSA && key.type !== graphene.KeyType.EC) return fail('The PKCS#11 sealing key must be RSA or EC');
  } catch (err) {
    session.close();
    throw err;
  }
  const rsa = key.type === graphene.KeyType.RSA;
  return {
    signatureMethod: rsa ? RSA_SHA256 : ECDSA_SHA256,
    description: `PKCS#11 token "${options.tokenLabel}", key "${options.keyLabel}"`,
    sign: (data) =>
      rsa
        ? session.createSign('SHA256_RSA_PKCS', key).once(data)
        : // CKM_ECDSA signs a digest and returns r || s, the XML-DSig form.
          session.createSign('ECDSA', key).once(createHash('sha256').update(data).digest()),
    close() {
      // Each step may fail once the library was finalized by another user in this process: nothing is left to release then.
      for (const step of [() => session.logout(), () => session.close(), () => mod.finalize()]) {
        try {
          step();
        } catch {
          // already released
        }
      }
    },
  };
}
