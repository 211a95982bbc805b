// Sealing: an enveloped XML signature by the ePost sealing certificate over the whole proof
// (Reference URI="", enveloped-signature + exclusive C14N, SHA-256), then an RFC 3161 timestamp over
// the exclusive-C14N form of ds:SignatureValue, carried as a XAdES SignatureTimeStamp in an
// unreferenced ds:Object. The enveloped-signature transform removes the whole ds:Signature (Object
// included) before digesting, so adding the timestamp after signing leaves the signature valid.
import { createHash, createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { EpostError } from '../errors/index.js';
import { x509 } from '../pki/issue.js';
import { assertStrongKey, parsePemCertificates, type TimestampAuthority } from '../timestamp/index.js';
import { EcdsaSha256Algorithm } from './algorithms.js';
import { PROOF_NS } from './model.js';
import { DS_NS, ECDSA_SHA256, ENVELOPED_SIGNATURE, EXC_C14N, RSA_SHA256, SHA256, XADES_NS, childElements, exclusiveCanonical, parseProofXml } from './xml.js';

export interface ProofSealerOptions {
  sealingCertPem: string;
  sealingKeyPem: string;
  /** Issuer certificates published in KeyInfo after the sealing certificate, for verifiers without them. */
  chainPems?: string[];
  tsa: TimestampAuthority;
}

export class ProofSealer {
  private constructor(
    private readonly key: KeyObject,
    private readonly signatureAlgorithm: string,
    /** Sealing certificate then chain, as PEM: xml-crypto publishes each in KeyInfo/X509Data. */
    private readonly keyInfoCertificates: string,
    private readonly tsa: TimestampAuthority,
  ) {}

  static async fromPem(opts: ProofSealerOptions): Promise<ProofSealer> {
    const [certificate] = parsePemCertificates([opts.sealingCertPem], 'sealing certificate');
    if (!certificate) throw new EpostError('InvalidSecurityToken', 'No sealing certificate was given');
    assertStrongKey(certificate, 'sealing');
    const now = new Date();
    if (now < certificate.notBefore || now > certificate.notAfter) {
      throw new EpostError('InvalidSecurityToken', 'The sealing certificate is not valid now; proofs sealed with it would be refused');
    }
    const ku = certificate.getExtension(x509.KeyUsagesExtension);
    if (ku && !(ku.usages & x509.KeyUsageFlags.digitalSignature)) {
      throw new EpostError('InvalidSecurityToken', 'The sealing certificate key usage does not include digitalSignature');
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(opts.sealingKeyPem);
    } catch (err) {
      throw new EpostError('InvalidSecurityToken', 'The sealing private key is not readable', err);
    }
    const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
    if (!spki.equals(Buffer.from(certificate.publicKey.rawData))) {
      throw new EpostError('InvalidSecurityToken', 'The sealing private key does not belong to the sealing certificate');
    }
    const signatureAlgorithm = key.asymmetricKeyType === 'rsa' ? RSA_SHA256 : key.asymmetricKeyType === 'ec' ? ECDSA_SHA256 : undefined;
    if (!signatureAlgorithm) throw new EpostError('UnsupportedAlgorithm', `Sealing keys must be RSA or EC, not ${key.asymmetricKeyType}`);
    const chain = parsePemCertificates(opts.chainPems ?? [], 'sealing chain certificate');
    const bundle = [certificate, ...chain].map((c) => c.toString('pem')).join('\n');
    return new ProofSealer(key, signatureAlgorithm, bundle, opts.tsa);
  }

  /** Returns the sealed proof as UTF-8 bytes (exactly what is stored and handed out). */
  async seal(unsignedXml: string): Promise<Buffer> {
    const unsigned = parseProofXml(unsignedXml, 'proof to seal', 'InvalidRequest');
    const root = unsigned.documentElement!;
    if (root.namespaceURI !== PROOF_NS || (root.localName !== 'SendProof' && root.localName !== 'DeliveryProof')) {
      throw new EpostError('InvalidRequest', 'Only ePost SendProof and DeliveryProof documents are sealed');
    }
    if (unsigned.getElementsByTagNameNS(DS_NS, 'Signature').length > 0) {
      throw new EpostError('InvalidRequest', 'The proof to seal is already signed');
    }

    const signatureId = `Seal-${randomUUID()}`;
    const signer = new SignedXml({
      privateKey: this.key,
      publicCert: this.keyInfoCertificates,
      signatureAlgorithm: this.signatureAlgorithm,
      canonicalizationAlgorithm: EXC_C14N,
    });
    signer.SignatureAlgorithms[ECDSA_SHA256] = EcdsaSha256Algorithm;
    signer.addReference({ xpath: '/*', transforms: [ENVELOPED_SIGNATURE, EXC_C14N], digestAlgorithm: SHA256, isEmptyUri: true });
    signer.computeSignature(unsignedXml, {
      prefix: 'ds',
      attrs: { Id: signatureId },
      location: { reference: '/*', action: 'append' },
    });

    const doc = parseProofXml(signer.getSignedXml(), 'signed proof', 'ServiceUnavailable');
    const signature = childElements(doc.documentElement!).at(-1);
    if (!signature || signature.namespaceURI !== DS_NS || signature.localName !== 'Signature') {
      throw new EpostError('ServiceUnavailable', 'The seal signature was not placed as the last child of the proof');
    }
    const signatureValue = childElements(signature).find((el) => el.namespaceURI === DS_NS && el.localName === 'SignatureValue');
    if (!signatureValue) throw new EpostError('ServiceUnavailable', 'The seal signature has no SignatureValue');

    // XAdES SignatureTimeStamp: the imprint is the digest of the canonical ds:SignatureValue element.
    const imprint = createHash('sha256').update(exclusiveCanonical(signatureValue), 'utf8').digest();
    const token = await this.tsa.timestamp(imprint);
    signature.appendChild(signatureTimeStampObject(doc, signatureId, token));

    return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc.documentElement!)}`, 'utf8');
  }
}

/**
 * ds:Object/xades:QualifyingProperties[@Target]/xades:UnsignedProperties/
 * xades:UnsignedSignatureProperties/xades:SignatureTimeStamp/xades:EncapsulatedTimeStamp
 */
function signatureTimeStampObject(doc: Document, signatureId: string, token: Buffer): Element {
  const object = doc.createElementNS(DS_NS, 'ds:Object');
  const qualifying = doc.createElementNS(XADES_NS, 'xades:QualifyingProperties');
  qualifying.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns:xades', XADES_NS);
  qualifying.setAttribute('Target', `#${signatureId}`);
  const unsignedProperties = doc.createElementNS(XADES_NS, 'xades:UnsignedProperties');
  const unsignedSignatureProperties = doc.createElementNS(XADES_NS, 'xades:UnsignedSignatureProperties');
  const signatureTimeStamp = doc.createElementNS(XADES_NS, 'xades:SignatureTimeStamp');
  const c14nMethod = doc.createElementNS(DS_NS, 'ds:CanonicalizationMethod');
  c14nMethod.setAttribute('Algorithm', EXC_C14N);
  const encapsulated = doc.createElementNS(XADES_NS, 'xades:EncapsulatedTimeStamp');
  encapsulated.appendChild(doc.createTextNode(token.toString('base64')));
  signatureTimeStamp.appendChild(c14nMethod);
  signatureTimeStamp.appendChild(encapsulated);
  unsignedSignatureProperties.appendChild(signatureTimeStamp);
  unsignedProperties.appendChild(unsignedSignatureProperties);
  qualifying.appendChild(unsignedProperties);
  object.appendChild(qualifying);
  return object;
}
