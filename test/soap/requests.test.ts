import crypto from 'node:crypto';
import { expect } from 'chai';
import type { Element as XmlElement } from '@xmldom/xmldom';
import { EpostError, type ErrorCode } from '../../app/errors/index.js';
import {
  EPOST_NS,
  SOAP_ACTIONS,
  checkSoapAction,
  operationOf,
  parseGetProofOfDelivery,
  parseSendRegisteredMail,
  type SendRegisteredMailRequest,
} from '../../app/soap/index.js';
import {
  ENTERPRISE_NUMBER,
  SAMPLE_CONTENT,
  SHA256_URI,
  SSIN_POST_2000,
  SSIN_PRE_2000,
  childElement,
  elementFrom,
  sendRequest,
  serialize,
  validateWithXsd,
  type SendFields,
} from './support.js';

const LIMITS = { maxDocumentBytes: 1024 };

function refusal(action: () => unknown): EpostError {
  try {
    action();
  } catch (err) {
    expect(err).to.be.instanceOf(EpostError);
    return err as EpostError;
  }
  throw new Error('expected a refusal');
}

function parse(fields: SendFields, limits = LIMITS): SendRegisteredMailRequest {
  return parseSendRegisteredMail(sendRequest(fields), limits);
}

function expectRefused(fields: SendFields | XmlElement, code: ErrorCode, reasonPart: string | RegExp, limits = LIMITS): EpostError {
  const element = 'nodeType' in fields ? fields : sendRequest(fields as SendFields);
  const err = refusal(() => parseSendRegisteredMail(element, limits));
  expect(err.code, err.message).to.equal(code);
  if (typeof reasonPart === 'string') expect(err.message).to.contain(reasonPart);
  else expect(err.message).to.match(reasonPart);
  return err;
}

const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest();

describe('soap: operation and SOAPAction', () => {
  it('names the operation from the Body element, refusing anything else', () => {
    expect(operationOf(sendRequest())).to.equal('SendRegisteredMail');
    expect(operationOf(elementFrom(`<GetProofOfDeliveryRequest xmlns="${EPOST_NS}"/>`))).to.equal('GetProofOfDelivery');
    for (const xml of [
      `<SendRegisteredMailRequest xmlns="urn:other"/>`,
      `<SendRegisteredMailRequest/>`,
      `<SendRegisteredMailResponse xmlns="${EPOST_NS}"/>`,
      `<x:GetProofOfDelivery xmlns:x="${EPOST_NS}"/>`,
    ]) {
      expect(refusal(() => operationOf(elementFrom(xml))).code, xml).to.equal('InvalidRequest');
    }
  });

  it('accepts an absent, empty, quoted or unquoted matching SOAPAction and refuses a mismatch as InvalidSecurity', () => {
    for (const header of [undefined, '', '""', SOAP_ACTIONS.SendRegisteredMail, `"${SOAP_ACTIONS.SendRegisteredMail}"`, ` "${SOAP_ACTIONS.SendRegisteredMail}" `]) {
      expect(() => checkSoapAction(header, 'SendRegisteredMail'), String(header)).not.to.throw();
    }
    for (const header of [SOAP_ACTIONS.GetProofOfDelivery, `"${SOAP_ACTIONS.GetProofOfDelivery}"`, 'SendRegisteredMail', `"${SOAP_ACTIONS.SendRegisteredMail}x"`]) {
      const err = refusal(() => checkSoapAction(header, 'SendRegisteredMail'));
      expect(err.code, header).to.equal('InvalidSecurity');
      expect(err.message).to.contain('SendRegisteredMail');
    }
    expect(refusal(() => checkSoapAction(SOAP_ACTIONS.SendRegisteredMail, 'GetProofOfDelivery')).code).to.equal('InvalidSecurity');
  });
});

describe('soap: SendRegisteredMailRequest', () => {
  it('returns the typed request with the decoded content and the asserted digest', () => {
    const request = parse({});
    expect(request).to.deep.equal({
      senderReference: 'INV-2025-000042',
      recipient: { kind: 'citizen', id: SSIN_PRE_2000 },
      subject: 'Avertissement-extrait de r\u00f4le 2025 <&>',
      language: 'fr',
      document: { fileName: 'avertissement 2025.pdf', mimeType: 'application/pdf', content: SAMPLE_CONTENT, digestSha256: sha256(SAMPLE_CONTENT) },
    });
  });

  it('accepts a post-2000 SSIN, an enterprise number and an absent Language', () => {
    expect(parse({ ssin: SSIN_POST_2000 }).recipient).to.deep.equal({ kind: 'citizen', id: SSIN_POST_2000 });
    expect(parse({ enterpriseNumber: ENTERPRISE_NUMBER }).recipient).to.deep.equal({ kind: 'enterprise', id: ENTERPRISE_NUMBER });
    expect(parse({ enterpriseNumber: '1000002197' }).recipient.id).to.equal('1000002197'); // 10000021 = 97 x 103093: check digits 97
    const request = parse({ language: null });
    expect(request).not.to.have.property('language');
    for (const language of ['fr', 'nl', 'de', 'en']) expect(parse({ language }).language).to.equal(language);
  });

  it('reads a request written with a default namespace, comments, CDATA and blanks around tokens', () => {
    const content = crypto.randomBytes(300);
    const xml = `<SendRegisteredMailRequest xmlns="${EPOST_NS}" xmlns:wsu="urn:ignored" wsu:Id="x">
      <!-- a comment -->
      <SenderReference><![CDATA[REF <1>]]></SenderReference>
      <Recipient> <EnterpriseNumber> ${ENTERPRISE_NUMBER} </EnterpriseNumber> </Recipient>
      <Subject>Facture</Subject>
      <Document>
        <FileName>f.xml</FileName>
        <MimeType> application/xml </MimeType>
        <Content>\n${content.toString('base64').replace(/.{76}/g, '$&\r\n')}\n</Content>
        <Digest DigestMethod="${SHA256_URI}">\n  ${sha256(content).toString('base64')}\n</Digest>
      </Document>
    </SendRegisteredMailRequest>`;
    const request = parseSendRegisteredMail(elementFrom(xml), LIMITS);
    expect(request.senderReference).to.equal('REF <1>');
    expect(request.recipient).to.deep.equal({ kind: 'enterprise', id: ENTERPRISE_NUMBER });
    expect(request.document.mimeType).to.equal('application/xml');
    expect(request.document.content.equals(content)).to.equal(true);
    expect(request.document.digestSha256.equals(sha256(content))).to.equal(true);
  });

  describe('recipient (InvalidRecipient)', () => {
    for (const [label, fields] of [
      ['a pre-2000 SSIN with wrong check digits', { ssin: '85010112388' }],
      ['a post-2000 SSIN with wrong check digits', { ssin: '05031512368' }],
      ['an SSIN of 10 digits', { ssin: '8501011238' }],
      ['an SSIN with a letter', { ssin: '8501011238A' }],
      ['an SSIN written with separators', { ssin: '85.01.01-123.87' }],
      ['an SSIN in Arabic-Indic digits', { ssin: '\u0668\u0665\u0660\u0661\u0660\u0661\u0661\u0662\u0663\u0668\u0667' }],
      ['an enterprise number with wrong check digits', { enterpriseNumber: '0203201341' }],
      ['an enterprise number starting with 2', { enterpriseNumber: '2203201348' }],
      ['an enterprise number written BE0203.201.340', { enterpriseNumber: 'BE0203.201.340' }],
      ['no identifier', { ssin: null }],
      ['both an SSIN and an enterprise number', { ssin: SSIN_PRE_2000, enterpriseNumber: ENTERPRISE_NUMBER }],
    ] as [string, SendFields][]) {
      it(`refuses ${label}`, () => {
        expectRefused(fields, 'InvalidRecipient', 'Recipient');
      });
    }
  });

  describe('document size (DocumentTooLarge)', () => {
    it('accepts exactly the limit and refuses one byte more', () => {
      const atLimit = crypto.randomBytes(LIMITS.maxDocumentBytes);
      expect(parse({ content: atLimit }).document.content.equals(atLimit)).to.equal(true);
      const err = expectRefused({ content: crypto.randomBytes(LIMITS.maxDocumentBytes + 1) }, 'DocumentTooLarge', '1025 bytes');
      expect(err.message).to.contain('1024 bytes');
    });

    it('judges the size from the base64 length, before checking or decoding it', () => {
      // 4000 characters that are not base64 at all: refused for size, which proves nothing was decoded first
      expectRefused({ contentText: '!'.repeat(4000) }, 'DocumentTooLarge', 'Document/Content');
    });

    it('takes precedence over InvalidRecipient, which takes precedence over InvalidRequest; the reason lists all', () => {
      const big = crypto.randomBytes(2000);
      const all = expectRefused({ content: big, ssin: '85010112388', subject: null }, 'DocumentTooLarge', 'Document/Content');
      expect(all.message).to.contain('Recipient/SSIN').and.to.contain('Subject is missing');
      const two = expectRefused({ ssin: '85010112388', subject: null }, 'InvalidRecipient', 'Recipient/SSIN');
      expect(two.message).to.contain('Subject is missing');
    });
  });

  describe('fields (InvalidRequest)', () => {
    const digest31 = crypto.randomBytes(31).toString('base64');
    // 'A...AB=' : the last symbol carries bits beyond the 32nd byte, which strict base64 forbids
    const nonCanonicalDigest = `${'A'.repeat(42)}B=`;
    for (const [label, fields, reason] of [
      ['a Digest of 31 bytes', { digestText: digest31 }, 'Document/Digest'],
      ['a Digest with non-zero padding bits', { digestText: nonCanonicalDigest }, 'Document/Digest'],
      ['a Digest in base64url', { digestText: sha256(SAMPLE_CONTENT).toString('base64url') }, 'Document/Digest'],
      ['a Digest in hex', { digestText: sha256(SAMPLE_CONTENT).toString('hex') }, 'Document/Digest'],
      ['a SHA-1 DigestMethod', { digestMethod: 'http://www.w3.org/2000/09/xmldsig#sha1' }, 'DigestMethod'],
      ['a SHA-512 DigestMethod', { digestMethod: 'http://www.w3.org/2001/04/xmlenc#sha512' }, 'DigestMethod'],
      ['a missing DigestMethod', { digestMethod: null }, 'DigestMethod'],
      ['a missing Digest', { digestText: null }, 'Document/Digest is missing'],
      ['Content with a character outside base64', { contentText: 'SGVsbG8*' }, 'Document/Content is not valid base64'],
      ['Content with data after the padding', { contentText: 'SGk=SGk=' }, 'Document/Content is not valid base64'],
      ['Content without its padding', { contentText: 'SGk' }, 'Document/Content is not valid base64'],
      ['empty Content', { contentText: '' }, 'Document/Content is empty'],
      ['a missing Content', { contentText: null }, 'Document/Content is missing'],
      ['a missing SenderReference', { senderReference: null }, 'SenderReference is missing'],
      ['an empty SenderReference', { senderReference: '' }, 'SenderReference is empty'],
      ['a SenderReference of 65 characters', { senderReference: 'R'.repeat(65) }, 'SenderReference is 65 characters long'],
      ['a SenderReference with a leading blank', { senderReference: ' REF' }, 'SenderReference must be one line'],
      ['a SenderReference on two lines', { senderReference: 'REF\n2' }, 'SenderReference must be one line'],
      ['a blank Subject', { subject: '   ' }, 'Subject must be one line'],
      ['a Subject of 201 characters', { subject: 's'.repeat(201) }, 'Subject is 201 characters long'],
      ['a FileName of 256 characters', { fileName: `${'f'.repeat(252)}.pdf` }, 'Document/FileName is 256 characters long'],
      ['a FileName with a directory', { fileName: '../etc/passwd' }, 'Document/FileName must be a file name'],
      ['a FileName with a Windows directory', { fileName: 'C:\\x.pdf' }, 'Document/FileName must be a file name'],
      ['a missing FileName', { fileName: null }, 'Document/FileName is missing'],
      ['a MimeType without subtype', { mimeType: 'pdf' }, 'Document/MimeType'],
      ['a MimeType with parameters', { mimeType: 'text/plain; charset=utf-8' }, 'Document/MimeType'],
      ['an empty MimeType', { mimeType: '' }, 'Document/MimeType'],
      ['an unknown Language', { language: 'es' }, 'Language must be one of fr, nl, de, en'],
      ['an upper-case Language', { language: 'FR' }, 'Language must be one of'],
    ] as [string, SendFields, string][]) {
      it(`refuses ${label}`, () => {
        expectRefused(fields, 'InvalidRequest', reason);
      });
    }

    it('accepts the longest values and counts characters, not UTF-16 units', () => {
      const reference = '\u{1F4E8}'.repeat(64); // 64 characters, 128 UTF-16 units
      expect(parse({ senderReference: reference }).senderReference).to.equal(reference);
      expect(parse({ subject: 'S'.repeat(200) }).subject).to.have.length(200);
      expect(parse({ fileName: `${'f'.repeat(251)}.pdf` }).document.fileName).to.have.length(255);
      expect(parse({ mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' }).document.mimeType).to.contain('vnd');
    });

    const mutate = (change: (root: XmlElement) => void): XmlElement => {
      const root = sendRequest();
      change(root);
      return elementFrom(serialize(root));
    };
    const el = (root: XmlElement, ns: string | null, name: string, text = 'x'): XmlElement => {
      const e = root.ownerDocument!.createElementNS(ns, name);
      e.appendChild(root.ownerDocument!.createTextNode(text));
      return e;
    };

    it('refuses unexpected, foreign, unqualified, repeated and misplaced elements', () => {
      expectRefused(mutate((r) => r.appendChild(el(r, EPOST_NS, 'epost:Priority'))), 'InvalidRequest', 'unexpected element Priority');
      expectRefused(mutate((r) => childElement(r, 'Document').appendChild(el(r, EPOST_NS, 'epost:Size', '3'))), 'InvalidRequest', 'Document holds an unexpected element Size');
      expectRefused(mutate((r) => r.appendChild(el(r, 'urn:other', 'o:Extra'))), 'InvalidRequest', '{urn:other}Extra');
      expectRefused(mutate((r) => r.insertBefore(el(r, null, 'Subject'), childElement(r, 'Subject'))), 'InvalidRequest', '{}Subject');
      expectRefused(mutate((r) => r.insertBefore(el(r, EPOST_NS, 'epost:Subject'), childElement(r, 'Document'))), 'InvalidRequest', 'Subject appears more than once');
      expectRefused(mutate((r) => r.insertBefore(childElement(r, 'Subject'), childElement(r, 'SenderReference'))), 'InvalidRequest', 'out of order');
      expectRefused(mutate((r) => childElement(r, 'Subject').appendChild(el(r, EPOST_NS, 'epost:b'))), 'InvalidRequest', 'Subject must hold text');
      expectRefused(mutate((r) => r.appendChild(r.ownerDocument!.createTextNode('stray'))), 'InvalidRequest', 'holds text outside');
      expectRefused(mutate((r) => childElement(r, 'Subject').setAttribute('lang', 'fr')), 'InvalidRequest', 'unexpected attribute lang');
      expectRefused(mutate((r) => childElement(childElement(r, 'Recipient'), 'SSIN').appendChild(el(r, EPOST_NS, 'epost:x', '1'))), 'InvalidRequest', 'Recipient/SSIN must hold text');
    });

    it('lists every problem in one reason', () => {
      const err = expectRefused({ senderReference: null, subject: 's'.repeat(300), fileName: 'a/b', mimeType: 'x', digestMethod: 'urn:md5', language: 'xx' }, 'InvalidRequest', 'SenderReference is missing');
      for (const part of ['Subject is 300', 'Document/FileName', 'Document/MimeType', 'DigestMethod', 'Language']) expect(err.message).to.contain(part);
    });

    it('refuses another element than SendRegisteredMailRequest', () => {
      expectRefused(elementFrom(`<GetProofOfDeliveryRequest xmlns="${EPOST_NS}"/>`), 'InvalidRequest', 'SendRegisteredMailRequest');
    });
  });
});

describe('soap: GetProofOfDeliveryRequest', () => {
  const request = (inner: string) => elementFrom(`<p:GetProofOfDeliveryRequest xmlns:p="${EPOST_NS}">${inner}</p:GetProofOfDeliveryRequest>`);

  it('looks up by RegisteredMailId or by SenderReference', () => {
    expect(parseGetProofOfDelivery(request('<p:RegisteredMailId> EP-2025-0001 </p:RegisteredMailId>'))).to.deep.equal({ registeredMailId: 'EP-2025-0001' });
    expect(parseGetProofOfDelivery(request('<p:SenderReference>INV 42</p:SenderReference>'))).to.deep.equal({ senderReference: 'INV 42' });
  });

  for (const [label, inner, reason] of [
    ['both keys', '<p:RegisteredMailId>A</p:RegisteredMailId><p:SenderReference>B</p:SenderReference>', 'exactly one'],
    ['no key', '', 'exactly one'],
    ['an identifier with a blank inside', '<p:RegisteredMailId>EP 1</p:RegisteredMailId>', 'RegisteredMailId must be'],
    ['an identifier of 65 characters', `<p:RegisteredMailId>${'9'.repeat(65)}</p:RegisteredMailId>`, 'RegisteredMailId must be'],
    ['an empty SenderReference', '<p:SenderReference/>', 'SenderReference is empty'],
    ['an extra element', '<p:RegisteredMailId>A</p:RegisteredMailId><p:Status>READ</p:Status>', 'unexpected element Status'],
  ] as [string, string, string][]) {
    it(`refuses ${label} as InvalidRequest`, () => {
      const err = refusal(() => parseGetProofOfDelivery(request(inner)));
      expect(err.code).to.equal('InvalidRequest');
      expect(err.message).to.contain(reason);
    });
  }
});

describe('soap: RegisteredMail.xsd and the parser agree', () => {
  it('accepts the same valid requests and refuses the same invalid ones (check digits aside)', async () => {
    const wrappedBytes = crypto.randomBytes(200);
    const valid: Record<string, SendFields> = {
      full: {},
      postSsin: { ssin: SSIN_POST_2000 },
      enterprise: { enterpriseNumber: ENTERPRISE_NUMBER, language: null },
      longest: { senderReference: '\u{1F4E8}'.repeat(64), subject: 'S'.repeat(200), fileName: 'f'.repeat(255) },
      wrapped: { content: wrappedBytes, contentText: wrappedBytes.toString('base64').replace(/.{76}/g, '$&\n') },
    };
    const invalid: Record<string, SendFields> = {
      noRecipient: { ssin: null },
      bothRecipients: { ssin: SSIN_PRE_2000, enterpriseNumber: ENTERPRISE_NUMBER },
      shortSsin: { ssin: '8501011238' },
      enterpriseStarting2: { enterpriseNumber: '2203201348' },
      digest31: { digestText: crypto.randomBytes(31).toString('base64') },
      nonCanonicalDigest: { digestText: `${'A'.repeat(42)}B=` },
      sha1Method: { digestMethod: 'http://www.w3.org/2000/09/xmldsig#sha1' },
      noMethod: { digestMethod: null },
      badContent: { contentText: 'SGVsbG8*' },
      emptyContent: { contentText: '' },
      longReference: { senderReference: 'R'.repeat(65) },
      blankReference: { senderReference: ' REF' },
      longSubject: { subject: 's'.repeat(201) },
      slashFileName: { fileName: 'a/b.pdf' },
      mimeParameters: { mimeType: 'text/plain; charset=utf-8' },
      language: { language: 'es' },
      noSubject: { subject: null },
    };
    const documents: Record<string, string> = {};
    for (const [name, fields] of Object.entries({ ...valid, ...invalid })) documents[name] = serialize(sendRequest(fields));
    const verdicts = await validateWithXsd(documents);
    for (const [name, fields] of Object.entries(valid)) {
      expect(verdicts[name], name).to.equal(null);
      expect(() => parse(fields, { maxDocumentBytes: 10_000 }), name).not.to.throw();
    }
    for (const [name, fields] of Object.entries(invalid)) {
      expect(verdicts[name], name).to.be.a('string');
      expect(() => parse(fields, { maxDocumentBytes: 10_000 }), name).to.throw(EpostError);
    }
  });
});
