// The WSDL as served at GET /soap/RegisteredMail?wsdl: the schema is inlined (zeep and node-soap then need
// a single fetch and no relative URL resolution) and soap:address names the server's own base URL.
import fs from 'node:fs';
import path from 'node:path';
import { DOMParser, XMLSerializer, type Document as XmlDocument, type Element as XmlElement } from '@xmldom/xmldom';
import { projectRoot } from '../config/index.js';

export const WSDL_FILE = path.join(projectRoot, 'wsdl', 'RegisteredMail.wsdl');
export const XSD_FILE = path.join(projectRoot, 'wsdl', 'RegisteredMail.xsd');

const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
const WSDL_SOAP_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
const XS_NS = 'http://www.w3.org/2001/XMLSchema';
const XSD_FILE_NAME = path.basename(XSD_FILE);

function parse(file: string): XmlDocument {
  return new DOMParser({
    onError: (level, message) => {
      throw new Error(`${path.basename(file)}: ${level}: ${message}`);
    },
  }).parseFromString(fs.readFileSync(file, 'utf8'), 'text/xml');
}

function elements(parent: XmlDocument | XmlElement, ns: string, localName: string): XmlElement[] {
  return Array.from(parent.getElementsByTagNameNS(ns, localName));
}

let template: string | undefined;

/** The WSDL with RegisteredMail.xsd inlined in place of the wrapper schema that imports it; built once. */
function inlinedTemplate(): string {
  if (template !== undefined) return template;
  const wsdl = parse(WSDL_FILE);
  const xsd = parse(XSD_FILE);
  let inlined = false;
  for (const types of elements(wsdl, WSDL_NS, 'types')) {
    for (const schema of elements(types, XS_NS, 'schema')) {
      const imports = elements(schema, XS_NS, 'import').filter((i) => i.getAttribute('schemaLocation') === XSD_FILE_NAME);
      if (imports.length === 0) continue;
      types.replaceChild(wsdl.importNode(xsd.documentElement!, true), schema);
      inlined = true;
    }
  }
  if (!inlined) throw new Error(`${WSDL_FILE} does not import ${XSD_FILE_NAME}`);
  template = new XMLSerializer().serializeToString(wsdl);
  return template;
}

/** The WSDL text with soap:address set to `<baseUrl>/soap/RegisteredMail` and the XSD inlined. */
export function wsdlFor(baseUrl: string): string {
  const url = new URL(baseUrl); // throws on a malformed base URL
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`Base URL must be http(s), got ${url.protocol}`);
  const address = `${url.origin}${url.pathname.replace(/\/+$/, '')}/soap/RegisteredMail`;
  const doc = new DOMParser().parseFromString(inlinedTemplate(), 'text/xml');
  for (const soapAddress of elements(doc, WSDL_SOAP_NS, 'address')) soapAddress.setAttribute('location', address);
  const text = new XMLSerializer().serializeToString(doc);
  return text.startsWith('<?xml') ? text : `<?xml version="1.0" encoding="UTF-8"?>\n${text}`;
}
