// The SAML side of the tests: a security token service that issues SAML 2.0 holder-of-key assertions
// (signed with the development STS key, or any other), and a sender that signs its request with the
// key the assertion confirms, naming the assertion from the signature's KeyInfo (WSS SAML Token
// Profile 1.1). Built with xml-crypto through app/xmldsig, as a real STS and client would.
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { DOMParser, XMLSerializer, type Node as XmldomNode } from '@xmldom/xmldom';
import { x509 } from '../../app/pki/index.js';
import { CBE_NUMBER_ATTRIBUTE, signRequest } from '../../app/wssecurity/index.js';
import { ENVELOPED_SIGNATURE, EXC_C14N, RSA_SHA256, SHA256_DIGEST_URI, StrictSignedXml } from '../../app/xmldsig/index.js';
import type { TestService } from '../helpers/service.js';
import { mailOperation, type Pem } from './support.js';

const SAML2_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSSE11_NS = 'http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd';
const SAML_V20_TOKEN_TYPE = 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0';
const SAML_ID_VALUE_TYPE = 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID';
const HOLDER_OF_KEY = 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key';

/** The development STS of the generated PKI (certs/service/sts.pem and its key). */
export function devSts(service: TestService): Pem {
  const { stsCert, stsKey } = service.devPki;
  if (!stsCert || !stsKey) throw new Error('the development PKI has no STS certificate');
  return { certificatePem: fs.readFileSync(stsCert, 'utf8'), privateKeyPem: fs.readFileSync(stsKey, 'utf8') };
}

export interface AssertionOptions {
  /** The STS that signs; undefined: the assertion is left unsigned. */
  sts: Pem | undefined;
  /** The certificate whose key the assertion confirms (holder-of-key). */
  confirmedCertificatePem: string;
  enterpriseNumber: string;
  now?: Date;
  notBefore?: Date;
  notOnOrAfter?: Date;
  issuer?: string;
  id?: string;
}

export interface IssuedAssertion {
  id: string;
  xml: string;
}

/** A SAML 2.0 holder-of-key assertion naming an organisation, signed (enveloped, exc-c14n, RSA-SHA256) by `sts`. */
export function issueAssertion(options: AssertionOptions): IssuedAssertion {
  const now = options.now ?? new Date();
  const id = options.id ?? `_${randomUUID()}`;
  const notBefore = options.notBefore ?? new Date(now.getTime() - 60_000);
  const notOnOrAfter = options.notOnOrAfter ?? new Date(now.getTime() + 3600_000);
  const confirmed = Buffer.from(new x509.X509Certificate(options.confirmedCertificatePem).rawData).toString('base64');
  const xml =
    `<saml2:Assertion xmlns:saml2="${SAML2_NS}" ID="${id}" IssueInstant="${now.toISOString()}" Version="2.0">` +
    `<saml2:Issuer>${options.issuer ?? 'urn:epost:development:sts'}</saml2:Issuer>` +
    '<saml2:Subject>' +
    `<saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">${options.enterpriseNumber}</saml2:NameID>` +
    `<saml2:SubjectConfirmation Method="${HOLDER_OF_KEY}"><saml2:SubjectConfirmationData>` +
    `<ds:KeyInfo xmlns:ds="${DSIG_NS}"><ds:X509Data><ds:X509Certificate>${confirmed}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
    '</saml2:SubjectConfirmationData></saml2:SubjectConfirmation>' +
    '</saml2:Subject>' +
    `<saml2:Conditions NotBefore="${notBefore.toISOString()}" NotOnOrAfter="${notOnOrAfter.toISOString()}"/>` +
    `<saml2:AttributeStatement><saml2:Attribute Name="${CBE_NUMBER_ATTRIBUTE}">` +
    `<saml2:AttributeValue>${options.enterpriseNumber}</saml2:AttributeValue>` +
    '</saml2:Attribute></saml2:AttributeStatement>' +
    '</saml2:Assertion>';
  if (!options.sts) return { id, xml };
  const signer = new StrictSignedXml(
    { privateKey: options.sts.privateKeyPem, signatureAlgorithm: RSA_SHA256, canonicalizationAlgorithm: EXC_C14N },
    { envelopedSignature: true },
  );
  signer.addReference({ xpath: '/*', transforms: [ENVELOPED_SIGNATURE, EXC_C14N], digestAlgorithm: SHA256_DIGEST_URI });
  signer.computeSignature(xml, { prefix: 'ds', location: { reference: "/*/*[local-name()='Issuer']", action: 'after' } });
  return { id, xml: signer.getSignedXml() };
}

/**
 * A request signed with `signer`'s key (Body and Timestamp, exactly as the client signs) whose
 * wsse:Security carries the assertion in place of the BinarySecurityToken, and whose KeyInfo names
 * the assertion by a KeyIdentifier (SAMLID). KeyInfo and token lie outside what the message
 * signature covers, so swapping them leaves that signature intact.
 */
export function signWithAssertion(signer: Pem, assertion: IssuedAssertion, operationXml: string = mailOperation()): string {
  const signed = signRequest({ operationXml, ...signer });
  const document = new DOMParser().parseFromString(signed, 'text/xml');
  const token = document.getElementsByTagNameNS(WSSE_NS, 'BinarySecurityToken')[0]!;
  const assertionElement = new DOMParser().parseFromString(assertion.xml, 'text/xml').documentElement!;
  token.parentNode!.replaceChild(document.importNode(assertionElement, true), token);
  // The message signature's KeyInfo (the assertion holds a KeyInfo of its own, which stays).
  const signature = Array.from(document.getElementsByTagNameNS(DSIG_NS, 'Signature')).find((s) => s.parentNode?.localName === 'Security')!;
  const keyInfo = signature.getElementsByTagNameNS(DSIG_NS, 'KeyInfo')[0]!;
  while (keyInfo.firstChild) keyInfo.removeChild(keyInfo.firstChild);
  const reference = new DOMParser().parseFromString(
    `<wsse:SecurityTokenReference xmlns:wsse="${WSSE_NS}" xmlns:wsse11="${WSSE11_NS}" wsse11:TokenType="${SAML_V20_TOKEN_TYPE}">` +
      `<wsse:KeyIdentifier ValueType="${SAML_ID_VALUE_TYPE}">${assertion.id}</wsse:KeyIdentifier></wsse:SecurityTokenReference>`,
    'text/xml',
  ).documentElement!;
  keyInfo.appendChild(document.importNode(reference, true));
  return new XMLSerializer().serializeToString(document as unknown as XmldomNode);
}
