// Sealing, XAdES baseline B-T (ETSI EN 319 132-1): an enveloped XML signature by the ePost sealing
// certificate over the whole document (Reference URI="", enveloped-signature + exclusive C14N,
// SHA-256) and over xades:SignedProperties (SigningTime, SigningCertificateV2, DataObjectFormat),
// the certificate chain in KeyInfo, then an RFC 3161 SignatureTimeStamp over the exclusive-C14N
// ds:SignatureValue as an unsigned property. The enveloped-signature transform removes the whole
// ds:Signature before digesting and the SignedProperties reference covers that element only, so
// adding the unsigned properties after signing leaves the signature valid.
import { createHash, randomUUID } from 'node:crypto';
import { XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import type { SignatureAlgorithm, SignedXml } from 'xml-crypto';
import { EpostError } from '../errors/index.js';
import { assertStrongKey, parsePemCertificates, x509 } from '../pki/index.js';
import { issuerSerialDer, type TimestampAuthority } from '../timestamp/index.js';
import { StrictSignedXml } from '../xmldsig/index.js';
import { buildEvidence } from './build.js';
import { EVIDENCE_NS, type EvidenceFacts } from './model.js';
import { assertKeyMatchesCertificate, fileSealingKey, type SealingKey } from './sealingKey.js';
import { DS_NS, ENVELOPED_SIGNATURE, EXC_C14N, SHA256, XADES_NS, XADES_SIGNED_PROPERTIES_TYPE, childElements, exclusiveCanonical, parseProofXml } from './xml.js';

/** Root elements ePost seals: evidences and the manifest of an evidence bundle. */
export const SEALED_ROOTS = new Set(['Evidence', 'EvidenceBundleManifest']);

export interface ProofSealerOptions {
  sealingCertPem: string;
  sealingKeyPem: string;
  /** Issuer certificates published in KeyInfo after the sealing certificate (intermediates, then the root). */
  chainPems?: string[];
  tsa: TimestampAuthority;
}

export interface ProofSealerKeyOptions {
  sealingCertPem: string;
  key: SealingKey;
  chainPems?: string[];
  tsa: TimestampAuthority;
}

/** Everything that does not depend on the document, prepared once: the send path seals two evidences per mail. */
interface Prepared {
  key: SealingKey;
  /** xml-crypto instantiates algorithms by class: this one is bound to the sealing key. */
  algorithm: new () => SignatureAlgorithm;
  /** KeyInfo content: the sealing certificate then its chain, each in ds:X509Data/ds:X509Certificate. */
  keyInfoContent: string;
  certDigestBase64: string;
  issuerSerialBase64: string;
  certificates: x509.X509Certificate[];
}

export class ProofSealer {
  private constructor(
    private readonly prepared: Prepared,
    private readonly tsa: TimestampAuthority,
  ) {}

  /** The default: the sealing key from a PEM file's content. */
  static async fromPem(opts: ProofSealerOptions): Promise<ProofSealer> {
    return ProofSealer.withKey({ sealingCertPem: opts.sealingCertPem, key: fileSealingKey(opts.sealingKeyPem), ...(opts.chainPems ? { chainPems: opts.chainPems } : {}), tsa: opts.tsa });
  }

  /** Any sealing key, e.g. pkcs11SealingKey for a key that never leaves an HSM. */
  static async withKey(opts: ProofSealerKeyOptions): Promise<ProofSealer> {
    const [certificate] = parsePemCertificates([opts.sealingCertPem], 'sealing certificate');
    if (!certificate) throw new EpostError('InvalidSecurityToken', 'No sealing certificate was given');
    assertStrongKey(certificate, 'sealing', 'InvalidSecurityToken');
    const now = new Date();
    if (now < certificate.notBefore || now > certificate.notAfter) {
      throw new EpostError('InvalidSecurityToken', 'The sealing certificate is not valid now; evidences sealed with it would be refused');
    }
    const ku = certificate.getExtension(x509.KeyUsagesExtension);
    if (!ku || !(ku.usages & (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation))) {
      throw new EpostError('InvalidSecurityToken', 'The sealing certificate key usage allows no signatures');
    }
    assertKeyMatchesCertificate(opts.key, certificate);
    const chain = parsePemCertificates(opts.chainPems ?? [], 'sealing chain certificate');
    const certificates = [certificate, ...chain];
    const der = Buffer.from(certificate.rawData);
    const key = opts.key;
    const algorithm = class implements Partial<SignatureAlgorithm> {
      getSignature(signedInfo: string | Buffer): string {
        return key.sign(Buffer.from(signedInfo)).toString('base64');
      }
      verifySignature(): boolean {
        throw new Error('The sealing algorithm only signs');
      }
      getAlgorithmName(): string {
        return key.signatureMethod;
      }
    } as unknown as new () => SignatureAlgorithm;
    return new ProofSealer(
      {
        key,
        algorithm,
        keyInfoContent: `<ds:X509Data>${certificates.map((c) => `<ds:X509Certificate>${Buffer.from(c.rawData).toString('base64')}</ds:X509Certificate>`).join('')}</ds:X509Data>`,
        certDigestBase64: createHash('sha256').update(der).digest('base64'),
        issuerSerialBase64: issuerSerialDer(der).toString('base64'),
        certificates,
      },
      opts.tsa,
    );
  }

  /** The sealing certificate followed by the chain published in KeyInfo. */
  get certificates(): x509.X509Certificate[] {
    return [...this.prepared.certificates];
  }

  /** Builds and seals the evidence of one event. */
  async sealEvidence(facts: EvidenceFacts): Promise<Buffer> {
    return this.seal(buildEvidence(facts));
  }

  /** Returns the sealed document as UTF-8 bytes (exactly what is stored and handed out). */
  async seal(unsignedXml: string): Promise<Buffer> {
    const unsigned = parseProofXml(unsignedXml, 'document to seal', 'InvalidRequest');
    const root = unsigned.documentElement!;
    if (root.namespaceURI !== EVIDENCE_NS || !SEALED_ROOTS.has(root.localName ?? '')) {
      throw new EpostError('InvalidRequest', 'Only ePost Evidence and EvidenceBundleManifest documents are sealed');
    }
    if (unsigned.getElementsByTagNameNS(DS_NS, 'Signature').length > 0) {
      throw new EpostError('InvalidRequest', 'The document to seal is already signed');
    }

    const p = this.prepared;
    const signatureId = `Seal-${randomUUID()}`;
    const signedPropertiesId = `${signatureId}-SignedProperties`;
    const referenceId = `${signatureId}-Document`;
    // Only our own values (a UUID, an ISO time, base64) are written into this markup.
    const qualifyingProperties =
      `<xades:QualifyingProperties xmlns:xades="${XADES_NS}" Target="#${signatureId}">` +
      `<xades:SignedProperties Id="${signedPropertiesId}">` +
      '<xades:SignedSignatureProperties>' +
      `<xades:SigningTime>${new Date().toISOString()}</xades:SigningTime>` +
      '<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>' +
      `<ds:DigestMethod Algorithm="${SHA256}"/><ds:DigestValue>${p.certDigestBase64}</ds:DigestValue>` +
      `</xades:CertDigest><xades:IssuerSerialV2>${p.issuerSerialBase64}</xades:IssuerSerialV2></xades:Cert></xades:SigningCertificateV2>` +
      '</xades:SignedSignatureProperties>' +
      '<xades:SignedDataObjectProperties>' +
      `<xades:DataObjectFormat ObjectReference="#${referenceId}"><xades:MimeType>text/xml</xades:MimeType></xades:DataObjectFormat>` +
      '</xades:SignedDataObjectProperties>' +
      '</xades:SignedProperties>' +
      '</xades:QualifyingProperties>';

    const signer = new StrictSignedXml(
      {
        privateKey: 'held by the sealing key', // xml-crypto insists on a value; the bound algorithm ignores it
        getKeyInfoContent: () => p.keyInfoContent, // prepared once (xml-crypto would parse the PEM on every seal)
        signatureAlgorithm: p.key.signatureMethod as SignedXml['signatureAlgorithm'],
        canonicalizationAlgorithm: EXC_C14N,
        objects: [{ content: qualifyingProperties }],
      },
      { envelopedSignature: true },
    );
    // The one signature algorithm of this signer: the sealing key's, bound to it.
    signer.SignatureAlgorithms = { [p.key.signatureMethod]: p.algorithm };
    signer.addReference({ xpath: '/*', transforms: [ENVELOPED_SIGNATURE, EXC_C14N], digestAlgorithm: SHA256, isEmptyUri: true, id: referenceId });
    signer.addReference({
      xpath: `//*[local-name(.)='SignedProperties' and namespace-uri(.)='${XADES_NS}' and @Id='${signedPropertiesId}']`,
      transforms: [EXC_C14N],
      digestAlgorithm: SHA256,
      type: XADES_SIGNED_PROPERTIES_TYPE,
    });
    try {
      signer.computeSignature(unsignedXml, { prefix: 'ds', attrs: { Id: signatureId }, location: { reference: '/*', action: 'append' } });
    } catch (err) {
      throw new EpostError('ServiceUnavailable', 'The seal could not be computed', err);
    }

    const doc = parseProofXml(signer.getSignedXml(), 'sealed document', 'ServiceUnavailable');
    const signature = childElements(doc.documentElement!).at(-1);
    if (!signature || signature.namespaceURI !== DS_NS || signature.localName !== 'Signature') {
      throw new EpostError('ServiceUnavailable', 'The seal signature was not placed as the last child of the document');
    }
    const signatureValue = childElements(signature).find((el) => el.namespaceURI === DS_NS && el.localName === 'SignatureValue');
    const qualifying = doc.getElementsByTagNameNS(XADES_NS, 'QualifyingProperties').item(0);
    if (!signatureValue || !qualifying) throw new EpostError('ServiceUnavailable', 'The seal signature is incomplete');

    // XAdES SignatureTimeStamp: the imprint is the digest of the canonical ds:SignatureValue element.
    const imprint = createHash('sha256').update(exclusiveCanonical(signatureValue), 'utf8').digest();
    const token = await this.tsa.timestamp(imprint);
    qualifying.appendChild(unsignedProperties(doc, token));

    return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc.documentElement!)}`, 'utf8');
  }
}

/** xades:UnsignedProperties/xades:UnsignedSignatureProperties/xades:SignatureTimeStamp/xades:EncapsulatedTimeStamp */
function unsignedProperties(doc: Document, token: Buffer): Element {
  const unsigned = doc.createElementNS(XADES_NS, 'xades:UnsignedProperties');
  const unsignedSignatureProperties = doc.createElementNS(XADES_NS, 'xades:UnsignedSignatureProperties');
  const signatureTimeStamp = doc.createElementNS(XADES_NS, 'xades:SignatureTimeStamp');
  const c14nMethod = doc.createElementNS(DS_NS, 'ds:CanonicalizationMethod');
  c14nMethod.setAttribute('Algorithm', EXC_C14N);
  const encapsulated = doc.createElementNS(XADES_NS, 'xades:EncapsulatedTimeStamp');
  encapsulated.appendChild(doc.createTextNode(token.toString('base64')));
  signatureTimeStamp.appendChild(c14nMethod);
  signatureTimeStamp.appendChild(encapsulated);
  unsignedSignatureProperties.appendChild(signatureTimeStamp);
  unsigned.appendChild(unsignedSignatureProperties);
  return unsigned;
}
