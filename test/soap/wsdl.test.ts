// The WSDL against two independent SOAP stacks: node-soap and Python zeep load it, build requests our parser
// accepts, and read our responses and faults.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import * as soap from 'soap';
import { asEpostError } from '../../app/errors/index.js';
import {
  EPOST_NS,
  SOAP_ACTIONS,
  WSDL_FILE,
  checkSoapAction,
  operationOf,
  parseGetProofOfDelivery,
  parseSendRegisteredMail,
  renderFault,
  renderGetProofOfDeliveryResponse,
  renderSendRegisteredMailResponse,
  wsdlFor,
} from '../../app/soap/index.js';
import { SHA256_URI, SOAP11_NS, SSIN_POST_2000, bodyChild, childElement, parseStrict, runPython } from './support.js';

const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
const XS_NS = 'http://www.w3.org/2001/XMLSchema';

/**
 * A stand-in endpoint built from app/soap only (no WS-Security: that is app/wssecurity's part). The send
 * proof it returns is the JSON of what it parsed, so clients can show the server read their values.
 */
function startEndpoint(): Promise<{ server: http.Server; baseUrl: string; actions: string[] }> {
  const actions: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (req.method === 'GET' && req.url === '/soap/RegisteredMail?wsdl') {
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(wsdlFor(base));
        return;
      }
      try {
        const header = req.headers.soapaction as string | undefined;
        actions.push(header ?? '');
        const operation = bodyChild(Buffer.concat(chunks).toString('utf8'));
        const name = operationOf(operation);
        checkSoapAction(header, name);
        let xml: string;
        if (name === 'SendRegisteredMail') {
          const request = parseSendRegisteredMail(operation, { maxDocumentBytes: 1024 * 1024 });
          const seen = { ...request, document: { ...request.document, content: request.document.content.toString('hex'), digestSha256: request.document.digestSha256.toString('hex') } };
          xml = renderSendRegisteredMailResponse({ registeredMailId: 'EP-TEST-1', submissionTime: new Date('2025-01-02T03:04:05.006Z'), sendProof: Buffer.from(JSON.stringify(seen), 'utf8') });
        } else {
          const lookup = parseGetProofOfDelivery(operation);
          xml = renderGetProofOfDeliveryResponse({ status: 'DELIVERED', sendProof: Buffer.from(JSON.stringify(lookup)), deliveryProof: Buffer.from([0, 1, 2, 255]) });
        }
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(xml);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' }).end(renderFault(asEpostError(err)));
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, actions })));
}

const CONTENT = Buffer.from('Registered content \u00e9 <&>', 'utf8');
const DIGEST = crypto.createHash('sha256').update(CONTENT).digest();

describe('soap: WSDL', () => {
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  let tmp: string;

  before(async () => {
    endpoint = await startEndpoint();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'epost-soap-'));
  });
  after(() => {
    endpoint.server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('wsdlFor sets the address from the base URL and inlines the schema', () => {
    const text = wsdlFor('https://epost.example.be:9443/gateway/');
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).to.equal(true);
    const doc = parseStrict(text);
    const address = doc.getElementsByTagNameNS('http://schemas.xmlsoap.org/wsdl/soap/', 'address')[0]!;
    expect(address.getAttribute('location')).to.equal('https://epost.example.be:9443/gateway/soap/RegisteredMail');
    const schemas = Array.from(doc.getElementsByTagNameNS(XS_NS, 'schema'));
    expect(schemas).to.have.length(1);
    expect(schemas[0]!.getAttribute('targetNamespace')).to.equal(EPOST_NS);
    expect(schemas[0]!.parentNode!.localName).to.equal('types');
    expect(doc.getElementsByTagNameNS(XS_NS, 'import').length).to.equal(0);
    expect(text).not.to.contain('localhost:8443');
    // the file on disk keeps the development address and the import of the XSD beside it
    const onDisk = fs.readFileSync(WSDL_FILE, 'utf8');
    expect(onDisk).to.contain('https://localhost:8443/soap/RegisteredMail').and.to.contain('schemaLocation="RegisteredMail.xsd"');
    expect(() => wsdlFor('ftp://example.test')).to.throw();
  });

  it('declares both operations with their soapActions and the FaultDetail fault', () => {
    const doc = parseStrict(wsdlFor('https://localhost:8443'));
    const operations = Array.from(doc.getElementsByTagNameNS('http://schemas.xmlsoap.org/wsdl/soap/', 'operation')).map((o) => o.getAttribute('soapAction'));
    expect(operations).to.have.members(Object.values(SOAP_ACTIONS));
    const faultMessage = Array.from(doc.getElementsByTagNameNS(WSDL_NS, 'message')).find((m) => m.getAttribute('name') === 'EpostFault')!;
    expect(childElement(faultMessage, 'part', WSDL_NS).getAttribute('element')).to.equal('epost:FaultDetail');
  });

  it('loads in node-soap, from the file beside its XSD and from ?wsdl', async () => {
    for (const source of [WSDL_FILE, `${endpoint.baseUrl}/soap/RegisteredMail?wsdl`]) {
      const client = await soap.createClientAsync(source);
      const port = client.describe().RegisteredMailService.RegisteredMailPort;
      expect(Object.keys(port), source).to.have.members(['SendRegisteredMail', 'GetProofOfDelivery']);
      expect(port.SendRegisteredMail.input).to.include.keys('SenderReference', 'Recipient', 'Subject', 'Document', 'Language');
      expect(port.SendRegisteredMail.input.Recipient).to.include.keys('SSIN', 'EnterpriseNumber');
      expect(port.SendRegisteredMail.input.Document).to.include.keys('FileName', 'MimeType', 'Content', 'Digest');
      expect(port.SendRegisteredMail.output).to.include.keys('RegisteredMailId', 'SubmissionTime', 'SendProof');
      expect(port.GetProofOfDelivery.input).to.include.keys('RegisteredMailId', 'SenderReference');
      expect(port.GetProofOfDelivery.output).to.include.keys('Status', 'SendProof', 'DeliveryProof');
    }
  });

  it('node-soap sends requests our parser accepts and reads our responses and faults', async () => {
    const client = await soap.createClientAsync(`${endpoint.baseUrl}/soap/RegisteredMail?wsdl`);
    // No endpoint override: the calls reach this server only through the soap:address wsdlFor wrote.
    const args = {
      SenderReference: 'NODE-1',
      Recipient: { SSIN: SSIN_POST_2000 },
      Subject: 'Subject <&> \u00e9',
      Document: { FileName: 'a.txt', MimeType: 'text/plain', Content: CONTENT.toString('base64'), Digest: { attributes: { DigestMethod: SHA256_URI }, $value: DIGEST.toString('base64') } },
      Language: 'nl',
    };
    const [result] = await client.SendRegisteredMailAsync(args);
    expect(result.RegisteredMailId).to.equal('EP-TEST-1');
    expect(new Date(result.SubmissionTime).toISOString()).to.equal('2025-01-02T03:04:05.006Z');
    const seen = JSON.parse(Buffer.from(result.SendProof, 'base64').toString('utf8'));
    expect(seen).to.deep.equal({
      senderReference: 'NODE-1',
      recipient: { kind: 'citizen', id: SSIN_POST_2000 },
      subject: 'Subject <&> \u00e9',
      language: 'nl',
      document: { fileName: 'a.txt', mimeType: 'text/plain', content: CONTENT.toString('hex'), digestSha256: DIGEST.toString('hex') },
    });
    expect(endpoint.actions.at(-1)).to.equal(`"${SOAP_ACTIONS.SendRegisteredMail}"`);

    const [proofs] = await client.GetProofOfDeliveryAsync({ RegisteredMailId: 'EP-TEST-1' });
    expect(proofs.Status).to.equal('DELIVERED');
    expect(JSON.parse(Buffer.from(proofs.SendProof, 'base64').toString())).to.deep.equal({ registeredMailId: 'EP-TEST-1' });
    expect(Buffer.from(proofs.DeliveryProof, 'base64').equals(Buffer.from([0, 1, 2, 255]))).to.equal(true);

    const refused = await client.SendRegisteredMailAsync({ ...args, Recipient: { SSIN: '05031512368' } }).then(
      () => undefined,
      (err: { root?: { Envelope: { Body: { Fault: { faultcode: string; faultstring: string; detail: { FaultDetail: { Code: string; Retryable: boolean | string } } } } } } }) => err.root?.Envelope.Body.Fault,
    );
    expect(refused?.faultcode).to.equal('epost:InvalidRecipient');
    expect(refused?.faultstring).to.contain('Recipient/SSIN');
    expect(refused?.detail.FaultDetail.Code).to.equal('InvalidRecipient');
  });

  it('loads in Python zeep, whose requests our parser accepts and which reads our responses and faults', async () => {
    const file = path.join(tmp, 'RegisteredMail.wsdl');
    fs.writeFileSync(file, wsdlFor(endpoint.baseUrl));
    const script = `
import json, sys, zeep
client = zeep.Client(sys.argv[1])
out = {"operations": {}}
for service in client.wsdl.services.values():
    for port in service.ports.values():
        out["service"], out["port"], out["address"] = service.name, port.name, port.binding_options["address"]
        for name, op in port.binding._operations.items():
            out["operations"][name] = {"soapAction": op.soapaction, "input": op.input.signature(), "output": op.output.signature()}
content = bytes.fromhex(sys.argv[2])
args = dict(SenderReference="ZEEP-1", Recipient={"EnterpriseNumber": "0203201340"}, Subject="Zeep",
            Document={"FileName": "z.bin", "MimeType": "application/octet-stream", "Content": content,
                      "Digest": {"_value_1": bytes.fromhex(sys.argv[3]), "DigestMethod": "${SHA256_URI}"}})
sent = client.service.SendRegisteredMail(**args)
out["sent"] = {"id": sent.RegisteredMailId, "time": sent.SubmissionTime.isoformat(), "proof": sent.SendProof.decode("utf-8")}
proofs = client.service.GetProofOfDelivery(SenderReference="ZEEP-1")
out["proofs"] = {"status": proofs.Status, "send": proofs.SendProof.decode(), "delivery": proofs.DeliveryProof.hex()}
try:
    client.service.SendRegisteredMail(**dict(args, Recipient={"EnterpriseNumber": "0203201341"}))
except zeep.exceptions.Fault as fault:
    detail = fault.detail[0]
    out["fault"] = {"code": fault.code, "message": fault.message, "detail": [c.text for c in detail]}
print(json.dumps(out))
`;
    const out = JSON.parse(await runPython(script, [file, CONTENT.toString('hex'), DIGEST.toString('hex')])) as {
      service: string; port: string; address: string;
      operations: Record<string, { soapAction: string; input: string; output: string }>;
      sent: { id: string; time: string; proof: string };
      proofs: { status: string; send: string; delivery: string };
      fault: { code: string; message: string; detail: string[] };
    };
    expect(out.service).to.equal('RegisteredMailService');
    expect(out.address).to.equal(`${endpoint.baseUrl}/soap/RegisteredMail`);
    expect(Object.keys(out.operations)).to.have.members(['SendRegisteredMail', 'GetProofOfDelivery']);
    expect(out.operations.SendRegisteredMail!.soapAction).to.equal(SOAP_ACTIONS.SendRegisteredMail);
    expect(out.operations.SendRegisteredMail!.input).to.contain('SenderReference').and.contain('Recipient').and.contain('Document');
    expect(out.operations.SendRegisteredMail!.output).to.contain('SendProof');
    expect(out.operations.GetProofOfDelivery!.soapAction).to.equal(SOAP_ACTIONS.GetProofOfDelivery);
    expect(out.operations.GetProofOfDelivery!.output).to.contain('DeliveryProof');

    expect(out.sent.id).to.equal('EP-TEST-1');
    expect(new Date(out.sent.time).toISOString()).to.equal('2025-01-02T03:04:05.006Z');
    const seen = JSON.parse(out.sent.proof);
    expect(seen.recipient).to.deep.equal({ kind: 'enterprise', id: '0203201340' });
    expect(seen.document.content).to.equal(CONTENT.toString('hex'));
    expect(seen.document.digestSha256).to.equal(DIGEST.toString('hex'));
    expect(endpoint.actions).to.include(`"${SOAP_ACTIONS.GetProofOfDelivery}"`);
    expect(out.proofs).to.deep.equal({ status: 'DELIVERED', send: JSON.stringify({ senderReference: 'ZEEP-1' }), delivery: '000102ff' });

    expect(out.fault.code).to.match(/:InvalidRecipient$/);
    expect(out.fault.message).to.contain('Recipient/EnterpriseNumber');
    expect(out.fault.detail).to.deep.equal(['InvalidRecipient', 'false']);
  });

  it('a mismatching SOAPAction reaches the client as a wsse:InvalidSecurity fault', async () => {
    const request = `<?xml version="1.0"?><s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><GetProofOfDeliveryRequest xmlns="${EPOST_NS}"><RegisteredMailId>EP-1</RegisteredMailId></GetProofOfDeliveryRequest></s:Body></s:Envelope>`;
    const response = await fetch(`${endpoint.baseUrl}/soap/RegisteredMail`, { method: 'POST', headers: { SOAPAction: `"${SOAP_ACTIONS.SendRegisteredMail}"`, 'content-type': 'text/xml' }, body: request });
    expect(response.status).to.equal(500);
    const fault = bodyChild(await response.text());
    const faultcode = childElement(fault, 'faultcode', null);
    expect(faultcode.textContent).to.equal('wsse:InvalidSecurity');
    expect(faultcode.lookupNamespaceURI('wsse')).to.equal('http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd');
  });
});
