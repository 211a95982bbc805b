// Test support for the SOAP contract: sample documents built with a DOM, strict parsing, and the Python
// tools (lxml for XSD validation, zeep as an independent SOAP client).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { DOMImplementation, DOMParser, XMLSerializer, type Document as XmlDocument, type Element as XmlElement } from '@xmldom/xmldom';
import { EPOST_NS, XSD_FILE } from '../../app/soap/index.js';

export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SHA256_URI = 'http://www.w3.org/2001/04/xmlenc#sha256';

// Belgian identifiers worked out by hand (see app/identifiers): 850101123 -> 97 - (850101123 mod 97) = 87;
// for a birth from 2000 the base is 2050315123 -> 67 (the pre-2000 rule would give 38).
export const SSIN_PRE_2000 = '85010112387';
export const SSIN_POST_2000 = '05031512367';
export const ENTERPRISE_NUMBER = '0203201340';

/** Parses with every warning or error turned into an exception. */
export function parseStrict(xml: string): XmlDocument {
  return new DOMParser({
    onError: (level, message) => {
      throw new Error(`${level}: ${message}`);
    },
  }).parseFromString(xml, 'text/xml');
}

export function serialize(node: XmlDocument | XmlElement): string {
  return new XMLSerializer().serializeToString(node);
}

/** The first child element with this namespace and local name. */
export function childElement(parent: XmlElement, localName: string, ns: string | null = EPOST_NS): XmlElement {
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as XmlElement).localName === localName && (n as XmlElement).namespaceURI === ns) return n as XmlElement;
  }
  throw new Error(`no ${localName} in ${parent.localName}`);
}

export function bodyChild(envelopeXml: string): XmlElement {
  const doc = parseStrict(envelopeXml);
  const body = childElement(doc.documentElement!, 'Body', SOAP11_NS);
  for (let n = body.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) return n as XmlElement;
  throw new Error('empty Body');
}

export interface SendFields {
  senderReference?: string | null;
  ssin?: string | null;
  enterpriseNumber?: string | null;
  subject?: string | null;
  fileName?: string | null;
  mimeType?: string | null;
  /** Base64 text as sent; defaults to the base64 of `content`. */
  contentText?: string | null;
  content?: Buffer;
  /** Base64 text of the digest; defaults to the SHA-256 of `content`. */
  digestText?: string | null;
  digestMethod?: string | null;
  language?: string | null;
}

export const SAMPLE_CONTENT = Buffer.from('%PDF-1.7\n% ePost sample document \u00e9\u00e8\n', 'utf8');

/** A SendRegisteredMailRequest element (own document); null omits a field, undefined takes the valid default. */
export function sendRequest(fields: SendFields = {}): XmlElement {
  const content = fields.content ?? SAMPLE_CONTENT;
  const doc = new DOMImplementation().createDocument(EPOST_NS, 'epost:SendRegisteredMailRequest', null);
  const root = doc.documentElement!;
  const add = (parent: XmlElement, name: string, value: string | null | undefined, fallback?: string): XmlElement | undefined => {
    const text = value === undefined ? fallback : value;
    if (text === null || text === undefined) return undefined;
    const el = doc.createElementNS(EPOST_NS, `epost:${name}`);
    el.appendChild(doc.createTextNode(text));
    parent.appendChild(el);
    return el;
  };
  add(root, 'SenderReference', fields.senderReference, 'INV-2025-000042');
  const recipient = doc.createElementNS(EPOST_NS, 'epost:Recipient');
  root.appendChild(recipient);
  const noRecipientGiven = fields.ssin === undefined && fields.enterpriseNumber === undefined;
  add(recipient, 'SSIN', fields.ssin, noRecipientGiven ? SSIN_PRE_2000 : undefined);
  add(recipient, 'EnterpriseNumber', fields.enterpriseNumber);
  add(root, 'Subject', fields.subject, 'Avertissement-extrait de r\u00f4le 2025 <&>');
  const document = doc.createElementNS(EPOST_NS, 'epost:Document');
  root.appendChild(document);
  add(document, 'FileName', fields.fileName, 'avertissement 2025.pdf');
  add(document, 'MimeType', fields.mimeType, 'application/pdf');
  add(document, 'Content', fields.contentText, content.toString('base64'));
  const digest = add(document, 'Digest', fields.digestText, crypto.createHash('sha256').update(content).digest('base64'));
  const method = fields.digestMethod === undefined ? SHA256_URI : fields.digestMethod;
  if (digest && method !== null) digest.setAttribute('DigestMethod', method);
  add(root, 'Language', fields.language, 'fr');
  return root;
}

/** Re-parses an element's XML so tests also cover what a real parser hands over (default namespaces, comments...). */
export function elementFrom(xml: string): XmlElement {
  return parseStrict(xml).documentElement!;
}

export function runPython(script: string, args: string[] = [], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`python3 exited with ${code}: ${err}`))));
    child.stdin.end(stdin);
  });
}

const VALIDATE_SCRIPT = `
import json, sys
from lxml import etree
schema = etree.XMLSchema(etree.parse(sys.argv[1]))
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
out = {}
for name, xml in json.load(sys.stdin).items():
    root = etree.fromstring(xml.encode("utf-8"))
    if root.tag == SOAP + "Envelope":
        payload = [c for c in root.find(SOAP + "Body") if isinstance(c.tag, str)][0]
        if payload.tag == SOAP + "Fault":
            payload = [c for c in payload.find("detail") if isinstance(c.tag, str)][0]
    else:
        payload = root
    # A standalone copy keeps its in-scope namespace declarations
    ok = schema.validate(etree.fromstring(etree.tostring(payload)))
    out[name] = None if ok else str(schema.error_log.last_error)
print(json.dumps(out))
`;

/**
 * Validates documents against wsdl/RegisteredMail.xsd with lxml in one Python run. An envelope is judged by
 * its Body payload (a fault by its detail entry). Returns null per valid document, else lxml's message.
 */
export async function validateWithXsd(documents: Record<string, string>): Promise<Record<string, string | null>> {
  return JSON.parse(await runPython(VALIDATE_SCRIPT, [XSD_FILE], JSON.stringify(documents))) as Record<string, string | null>;
}
