// Sealing, XAdES baseline B-T (ETSI EN 319 132-1): an enveloped XML signature by the ePost sealing
// certificate over the whole document (Reference URI="", enveloped-signature + exclusive C14N,
// SHA-256) and over xades:SignedProperties (SigningTime, SigningCertificateV2, DataObjectFormat),
// the certificate chain in KeyInfo, then an RFC 3161 SignatureTimeStamp over the exclusive-C14N
// ds:SignatureValue as an unsigned property. The enveloped-signature transform removes the whole
// ds:Signature before digesting and the SignedProperties reference covers that element only, so
// adding the unsigned properties after signing leaves the signature valid.
//
// The signature is built on the DOM of the parsed document and serialised once: the document
// reference is digested before ds:Signature is appended (exactly what the enveloped-signature
// transform leaves), SignedProperties and SignedInfo in place, all with the exclusive
// canonicaliser of xml-crypto that the verifiers use.
import { hash, randomUUID } from 'node:crypto';
import { XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { EpostError } from '../errors/index.js';
import { assertStrongKey, parsePemCertificates, x509 } from '../pki/index.js';
import { issuerSerialDer, type TimestampAuthority } from '../timestamp/index.js';
import { buildEvidenceDocument } from './build.js';
import { EVIDENCE_NS, type EvidenceFacts } from './model.js';
import { assertKeyMatchesCertificate, fileSealingKey, type SealingKey } from './sealingKey.js';
import { DS_NS, ENVELOPED_SIGNATURE, EXC_C14N, SHA256, XADES_NS, XADES_SIGNED_PROPERTIES_TYPE, exclusiveCanonical, parseProofXml } from './xml.js';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** Root elements ePost seals: evidences and the manifest of an evidence bundle. */
export const SEALED_ROOTS = new Set(['Evidence', 'EvidenceBundleManifest', 'BatchManifest']);

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
  /** Base64 DER of the sealing certificate then its chain, each published in ds:X509Data/ds:X509Certificate. */
  certificatesBase64: string[];
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
    return new ProofSealer(
      {
        key: opts.key,
        certificatesBase64: certificates.map((c) => Buffer.from(c.rawData).toString('base64')),
        certDigestBase64: hash('sha256', der, 'base64'),
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
    // Signed on the builder's own DOM: the same bytes as seal(buildEvidence(facts)) without a parse.
    return this.sealDocument(buildEvidenceDocument(facts));
  }

  /** Returns the sealed document as UTF-8 bytes (exactly what is stored and handed out). */
  async seal(unsignedXml: string): Promise<Buffer> {
    return this.sealDocument(parseProofXml(unsignedXml, 'document to seal', 'InvalidRequest'));
  }

  /** Seals `unsigned` in place (the document is consumed: ds:Signature is appended to its root). */
  private async sealDocument(unsigned: Document): Promise<Buffer> {
    const root = unsigned.documentElement!;
    if (root.namespaceURI !== EVIDENCE_NS || !SEALED_ROOTS.has(root.localName ?? '')) {
      throw new EpostError('InvalidRequest', 'Only ePost Evidence, EvidenceBundleManifest and BatchManifest documents are sealed');
    }
    if (unsigned.getElementsByTagNameNS(DS_NS, 'Signature').length > 0) {
      throw new EpostError('InvalidRequest', 'The document to seal is already signed');
    }

    const p = this.prepared;
    const signatureId = `Seal-${randomUUID()}`;
    const signedPropertiesId = `${signatureId}-SignedProperties`;
    const referenceId = `${signatureId}-Document`;
    const el = elementsOf(unsigned);

    // Digested before ds:Signature is appended: what the enveloped-signature transform leaves.
    const documentDigest = sha256Base64(exclusiveCanonical(root));

    const signedProperties = el(XADES_NS, 'xades:SignedProperties', { Id: signedPropertiesId }, [
      el(XADES_NS, 'xades:SignedSignatureProperties', {}, [
        el(XADES_NS, 'xades:SigningTime', {}, [new Date().toISOString()]),
        el(XADES_NS, 'xades:SigningCertificateV2', {}, [
          el(XADES_NS, 'xades:Cert', {}, [
            el(XADES_NS, 'xades:CertDigest', {}, [el(DS_NS, 'ds:DigestMethod', { Algorithm: SHA256 }), el(DS_NS, 'ds:DigestValue', {}, [p.certDigestBase64])]),
            el(XADES_NS, 'xades:IssuerSerialV2', {}, [p.issuerSerialBase64]),
          ]),
        ]),
      ]),
      el(XADES_NS, 'xades:SignedDataObjectProperties', {}, [
        el(XADES_NS, 'xades:DataObjectFormat', { ObjectReference: `#${referenceId}` }, [el(XADES_NS, 'xades:MimeType', {}, ['text/xml'])]),
      ]),
    ]);
    const qualifying = el(XADES_NS, 'xades:QualifyingProperties', { 'xmlns:xades': XADES_NS, Target: `#${signatureId}` }, [signedProperties]);
    const signedPropertiesDigest = sha256Base64(exclusiveCanonical(signedProperties));

    const reference = (attributes: Record<string, string>, transforms: string[], digest: string): Element =>
      el(DS_NS, 'ds:Reference', attributes, [
        el(DS_NS, 'ds:Transforms', {}, transforms.map((algorithm) => el(DS_NS, 'ds:Transform', { Algorithm: algorithm }))),
        el(DS_NS, 'ds:DigestMethod', { Algorithm: SHA256 }),
        el(DS_NS, 'ds:DigestValue', {}, [digest]),
      ]);
    const signedInfo = el(DS_NS, 'ds:SignedInfo', {}, [
      el(DS_NS, 'ds:CanonicalizationMethod', { Algorithm: EXC_C14N }),
      el(DS_NS, 'ds:SignatureMethod', { Algorithm: p.key.signatureMethod }),
      reference({ URI: '', Id: referenceId }, [ENVELOPED_SIGNATURE, EXC_C14N], documentDigest),
      reference({ URI: `#${signedPropertiesId}`, Type: XADES_SIGNED_PROPERTIES_TYPE }, [EXC_C14N], signedPropertiesDigest),
    ]);
    const signatureValue = el(DS_NS, 'ds:SignatureValue');
    const signature = el(DS_NS, 'ds:Signature', { Id: signatureId, 'xmlns:ds': DS_NS }, [
      signedInfo,
      signatureValue,
      el(DS_NS, 'ds:KeyInfo', {}, [el(DS_NS, 'ds:X509Data', {}, p.certificatesBase64.map((b64) => el(DS_NS, 'ds:X509Certificate', {}, [b64])))]),
      el(DS_NS, 'ds:Object', {}, [qualifying]),
    ]);
    root.appendChild(signature);

    try {
      signatureValue.appendChild(unsigned.createTextNode(p.key.sign(Buffer.from(exclusiveCanonical(signedInfo), 'utf8')).toString('base64')));
    } catch (err) {
      throw new EpostError('ServiceUnavailable', 'The seal could not be computed', err);
    }

    // XAdES SignatureTimeStamp: the imprint is the digest of the canonical ds:SignatureValue element.
    const imprint = hash('sha256', exclusiveCanonical(signatureValue), 'buffer');
    const token = await this.tsa.timestamp(imprint);
    qualifying.appendChild(unsignedProperties(unsigned, token));

    // A carriage return can only be in the DOM through a character reference, and xmldom writes it
    // raw in text, where a parser would read a line feed: written as a reference it stays what was digested.
    const sealed = new XMLSerializer().serializeToString(root).replace(/\r/g, '&#xD;');
    return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${sealed}`, 'utf8');
  }
}

function sha256Base64(canonical: string): string {
  return hash('sha256', canonical, 'base64');
}

/**
 * Element factory for `doc`: `xmlns:` attributes are namespace declarations, the others plain
 * attributes in the order given; string children are text.
 */
function elementsOf(doc: Document) {
  return (namespace: string, qualifiedName: string, attributes: Record<string, string> = {}, children: (Element | string)[] = []): Element => {
    const element = doc.createElementNS(namespace, qualifiedName);
    for (const [name, value] of Object.entries(attributes)) {
      if (name.startsWith('xmlns:')) element.setAttributeNS(XMLNS_NS, name, value);
      else element.setAttribute(name, value);
    }
    for (const child of children) element.appendChild(typeof child === 'string' ? doc.createTextNode(child) : child);
    return element;
  };
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
