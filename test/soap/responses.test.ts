import crypto from 'node:crypto';
import { expect } from 'chai';
import type { Element as XmlElement } from '@xmldom/xmldom';
import { EpostError, WSSE_NS, asEpostError, errorRegistry, type ErrorCode } from '../../app/errors/index.js';
import { EPOST_NS, renderFault, renderGetProofOfDeliveryResponse, renderSendRegisteredMailResponse } from '../../app/soap/index.js';
import { SOAP11_NS, bodyChild, childElement, parseStrict, validateWithXsd } from './support.js';

/** A sealed proof stand-in: bytes that must survive exactly (non-ASCII, CR LF, markup). */
const PROOF = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\r\n<SendProof xmlns="urn:epost:proof:v1">Na\u00efve &amp; <b>s\u00fbr</b></SendProof>\n', 'utf8');
const DELIVERY_PROOF = Buffer.concat([Buffer.from('<DeliveryProof/>'), crypto.randomBytes(1000)]);

function text(parent: XmlElement, name: string, ns: string | null = EPOST_NS): string {
  return childElement(parent, name, ns).textContent ?? '';
}

interface ParsedFault {
  codeNamespace: string | null;
  codeLocalName: string;
  faultstring: string;
  detailCode: string;
  retryable: string;
}

function parseFault(xml: string): ParsedFault {
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).to.equal(true);
  const fault = bodyChild(xml);
  expect(fault.namespaceURI).to.equal(SOAP11_NS);
  expect(fault.localName).to.equal('Fault');
  const faultcode = childElement(fault, 'faultcode', null);
  const [prefix, localName] = (faultcode.textContent ?? '').split(':') as [string, string];
  const detail = childElement(childElement(fault, 'detail', null), 'FaultDetail');
  return {
    codeNamespace: faultcode.lookupNamespaceURI(prefix),
    codeLocalName: localName,
    faultstring: text(fault, 'faultstring', null),
    detailCode: text(detail, 'Code'),
    retryable: text(detail, 'Retryable'),
  };
}

describe('soap: responses', () => {
  it('renders SendRegisteredMailResponse whose SendProof decodes to the same bytes', () => {
    const submissionTime = new Date('2025-03-01T10:15:30.123+01:00');
    const xml = renderSendRegisteredMailResponse({ registeredMailId: 'EP-2025-000001', submissionTime, sendProof: PROOF });
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).to.equal(true);
    const response = bodyChild(xml);
    expect(response.namespaceURI).to.equal(EPOST_NS);
    expect(response.localName).to.equal('SendRegisteredMailResponse');
    expect(text(response, 'RegisteredMailId')).to.equal('EP-2025-000001');
    expect(text(response, 'SubmissionTime')).to.equal('2025-03-01T09:15:30.123Z');
    expect(Buffer.from(text(response, 'SendProof'), 'base64').equals(PROOF)).to.equal(true);
  });

  it('renders GetProofOfDeliveryResponse with the DeliveryProof only when given', () => {
    const delivered = bodyChild(renderGetProofOfDeliveryResponse({ status: 'DELIVERED', sendProof: PROOF, deliveryProof: DELIVERY_PROOF }));
    expect(delivered.localName).to.equal('GetProofOfDeliveryResponse');
    expect(text(delivered, 'Status')).to.equal('DELIVERED');
    expect(Buffer.from(text(delivered, 'SendProof'), 'base64').equals(PROOF)).to.equal(true);
    expect(Buffer.from(text(delivered, 'DeliveryProof'), 'base64').equals(DELIVERY_PROOF)).to.equal(true);

    const submitted = bodyChild(renderGetProofOfDeliveryResponse({ status: 'SUBMITTED', sendProof: PROOF }));
    expect(text(submitted, 'Status')).to.equal('SUBMITTED');
    expect(() => childElement(submitted, 'DeliveryProof')).to.throw();
    expect(() => renderGetProofOfDeliveryResponse({ status: 'LOST' as 'READ', sendProof: PROOF })).to.throw(TypeError);
  });

  it('renders an ePost fault as epost:Code with its reason and FaultDetail', () => {
    const reason = 'Recipient/SSIN is not valid <&> "quoted" \u00e9';
    const fault = parseFault(renderFault(new EpostError('InvalidRecipient', reason)));
    expect(fault).to.deep.equal({ codeNamespace: EPOST_NS, codeLocalName: 'InvalidRecipient', faultstring: reason, detailCode: 'InvalidRecipient', retryable: 'false' });
  });

  it('renders a WS-Security failure with the standard wsse fault code', () => {
    const fault = parseFault(renderFault(new EpostError('FailedCheck', 'The signature does not verify')));
    expect(fault.codeNamespace).to.equal(WSSE_NS);
    expect(fault.codeLocalName).to.equal('FailedCheck');
    expect(fault.faultstring).to.equal('The signature does not verify');
  });

  it('renders every registered code in its namespace with its retryability', () => {
    for (const code of Object.keys(errorRegistry) as ErrorCode[]) {
      const fault = parseFault(renderFault(new EpostError(code, `reason for ${code}`)));
      expect(fault.codeNamespace, code).to.equal(errorRegistry[code].namespace === 'wsse' ? WSSE_NS : EPOST_NS);
      expect(fault.codeLocalName).to.equal(code);
      expect(fault.detailCode).to.equal(code);
      expect(fault.retryable).to.equal(String(errorRegistry[code].retryable));
    }
    expect(parseFault(renderFault(new EpostError('ServiceUnavailable', 'later'))).retryable).to.equal('true');
  });

  it('never carries a stack trace or an internal message, and stays well-formed with control characters', () => {
    const internal = new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
    const hidden = parseFault(renderFault(asEpostError(internal)));
    expect(hidden.codeLocalName).to.equal('ServiceUnavailable');
    expect(hidden.faultstring).not.to.contain('hunter2').and.not.to.contain('ECONNREFUSED');

    const withStack = new EpostError('InvalidRequest', internal.stack ?? '');
    const stripped = parseFault(renderFault(withStack));
    expect(stripped.faultstring).to.contain('ECONNREFUSED'); // the message line itself is the caller's choice
    expect(stripped.faultstring).not.to.match(/\bat .*\.ts:\d+/);

    const control = parseFault(renderFault(new EpostError('InvalidRequest', 'bad \u0000\u0007 value\ud800')));
    expect(control.faultstring).to.equal('bad ?? value?');
  });

  it('produces payloads that validate against RegisteredMail.xsd', async () => {
    const documents = {
      send: renderSendRegisteredMailResponse({ registeredMailId: 'EP-2025-000001', submissionTime: new Date(), sendProof: PROOF }),
      delivered: renderGetProofOfDeliveryResponse({ status: 'READ', sendProof: PROOF, deliveryProof: DELIVERY_PROOF }),
      submitted: renderGetProofOfDeliveryResponse({ status: 'SUBMITTED', sendProof: PROOF }),
      epostFault: renderFault(new EpostError('DocumentTooLarge', 'too large')),
      wsseFault: renderFault(new EpostError('MessageExpired', 'expired')),
      // control: a payload the schema must refuse, so a validator that accepts everything is noticed
      broken: renderGetProofOfDeliveryResponse({ status: 'READ', sendProof: PROOF }).replace('>READ<', '>LOST<'),
    };
    const verdicts = await validateWithXsd(documents);
    expect(verdicts).to.deep.include({ send: null, delivered: null, submitted: null, epostFault: null, wsseFault: null });
    expect(verdicts.broken).to.contain('LOST');
    // the envelopes themselves are strict, well-formed XML
    for (const xml of Object.values(documents)) expect(parseStrict(xml).documentElement!.namespaceURI).to.equal(SOAP11_NS);
  });
});
