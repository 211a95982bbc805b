// Contract tests: every answer of the eBox API, successes and refusals, validated against the
// schemas of the eBox federation's Message Registry API 2.1 (Swagger 2.0, test/ebox/fixtures, MIT)
// with Ajv on the definitions dereferenced by swagger-parser. Each answer is validated twice: as the
// specification reads, and "closed" (no property the specification does not define, except an
// English text in a TranslatedString), so a misspelt optional property fails too. The filters and
// paging are checked for what they return, not only for their shape.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { projectRoot } from '../../app/config/index.js';
import { copySendProof, defineMessageType, postNotice } from '../../app/ebox/index.js';
import { statementsOf } from '../../app/storage/index.js';
import { CITIZEN_BASE, ENTERPRISE_BASE, sendMail, startEboxService, type Answer, type EboxTestBed, type SentMail } from './helpers.js';

const SPEC_FILE = path.join(projectRoot, 'test', 'ebox', 'fixtures', 'ebox-rest-2.1.yaml');

interface Operation {
  operationId: string;
  method: string;
  path: string;
  description: string;
  produces: string[];
  responses: Record<string, { schema?: object }>;
}

type Json = Record<string, unknown>;

/** The schema with every object closed to the properties it defines (TranslatedString also allows `en`). */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema as Json)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, closed(s)])) : closed(v);
  if (out.type === 'object' && out.properties) {
    const props = out.properties as Json;
    if (['nl', 'fr', 'de'].every((l) => l in props) && Object.keys(props).length === 3) props.en = { type: 'string' };
    out.additionalProperties = false;
  }
  return out;
}

class Contract {
  readonly checked = new Map<string, Set<string>>();
  private readonly validators = new Map<string, { open: ValidateFunction; closed: ValidateFunction }>();

  private constructor(
    readonly operations: Map<string, Operation>,
    private readonly ajv: Ajv,
  ) {}

  static async load(): Promise<Contract> {
    if (!fs.existsSync(SPEC_FILE)) throw new Error(`the eBox specification is missing: ${SPEC_FILE}`);
    const api = (await SwaggerParser.dereference(SPEC_FILE)) as unknown as { paths: Record<string, Record<string, Json>>; produces?: string[] };
    const operations = new Map<string, Operation>();
    for (const [p, item] of Object.entries(api.paths)) {
      for (const [method, op] of Object.entries(item)) {
        operations.set(String(op.operationId), {
          operationId: String(op.operationId),
          method: method.toUpperCase(),
          path: p,
          description: String(op.description ?? ''),
          produces: (op.produces as string[] | undefined) ?? [],
          responses: op.responses as Operation['responses'],
        });
      }
    }
    const ajv = new Ajv({ strict: false, allErrors: true });
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => void;
    addFormats(ajv);
    // Swagger 2's numeric formats, which JSON Schema does not define.
    ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    ajv.addFormat('double', { type: 'number', validate: () => true });
    ajv.addFormat('float', { type: 'number', validate: () => true });
    return new Contract(operations, ajv);
  }

  /** Validates one answer of `operationId` against the response the specification declares for its status. */
  check(operationId: string, answer: Answer): void {
    const op = this.operations.get(operationId);
    if (!op) throw new Error(`no operation ${operationId} in the specification`);
    const declared = op.responses[String(answer.status)];
    expect(declared, `${operationId} declares no ${answer.status} response (body: ${answer.text().slice(0, 300)})`).to.not.equal(undefined);
    const schema = declared!.schema as Json | undefined;
    if (schema && schema.type === 'string' && op.produces.includes('application/octet-stream')) {
      expect(answer.headers['content-type'], `${operationId} ${answer.status}`).to.match(/^application\/octet-stream/);
    } else if (schema) {
      expect(answer.headers['content-type'], `${operationId} ${answer.status}`).to.match(/^application\/json/);
      const key = `${operationId} ${answer.status}`;
      let v = this.validators.get(key);
      if (!v) {
        v = { open: this.ajv.compile(schema), closed: this.ajv.compile(closed(schema) as object) };
        this.validators.set(key, v);
      }
      const body = answer.json();
      expect(v.open(body), `${key}: ${this.ajv.errorsText(v.open.errors)}\n${answer.text().slice(0, 500)}`).to.equal(true);
      expect(v.closed(body), `${key} (closed): ${this.ajv.errorsText(v.closed.errors)}\n${answer.text().slice(0, 500)}`).to.equal(true);
    }
    if (!this.checked.has(operationId)) this.checked.set(operationId, new Set());
    this.checked.get(operationId)!.add(String(answer.status));
  }
}

describe('eBox API contract (Message Registry API 2.1)', function () {
  let bed: EboxTestBed;
  let contract: Contract;
  let first: SentMail;
  let second: SentMail;
  let toEmployer: SentMail;

  before(async () => {
    contract = await Contract.load();
    bed = await startEboxService();
    const nsso = bed.service.devPki.senders[1]!;
    const admin = { db: bed.service.ctx.db, audit: bed.service.ctx.audit, now: () => new Date() };
    await defineMessageType(admin, { id: 'NSSO_CONTRACT', senderEnterpriseNumber: nsso.enterpriseNumber, name: { fr: 'Cotisations', nl: 'Bijdragen' }, description: { en: 'Contributions' }, retentionDays: 400 }, 'test set-up');
    const citizen = { kind: 'citizen' as const, ssin: bed.readers.citizen.ssin };
    first = await sendMail(bed.service, citizen, { subject: 'Avertissement-extrait de rôle', language: 'fr', fileName: 'role.pdf' });
    second = await sendMail(bed.service, citizen, { sender: nsso.slug, subject: 'Kwartaalaangifte', language: 'nl', fileName: 'aangifte.txt', mimeType: 'text/plain' });
    toEmployer = await sendMail(bed.service, { kind: 'enterprise', enterpriseNumber: bed.readers.enterpriseUser.enterpriseNumber }, { subject: 'Précompte professionnel' });
  });
  after(async () => bed?.service.close());

  const citizen = (p: string) => bed.citizen.get(`${CITIZEN_BASE}${p}`);
  const list = async (query: string) => {
    const answer = await citizen(`/ebox/messages${query}`);
    contract.check('getMessagesByEBoxId', answer);
    return answer;
  };
  const ids = (answer: Answer) => answer.json().items.map((m: { messageId: string }) => m.messageId);

  it('GET /ebox: the eBox summary', async () => {
    const answer = await citizen('/ebox');
    contract.check('getEBoxById', answer);
    expect(answer.json()).to.include({ numberOfMessages: 2, numberOfUnreadMessages: 2 });
    const enterprise = await bed.enterpriseUser.get(`${ENTERPRISE_BASE}/ebox`);
    contract.check('getEBoxById', enterprise);
    expect(enterprise.json().numberOfMessages).to.equal(1);
    const refused = await bed.citizen.get(`${ENTERPRISE_BASE}/ebox`);
    expect(refused.status).to.equal(401);
    contract.check('getEBoxById', refused);
  });

  it('GET /ebox/messages: registered mails with their digest and expiration date', async () => {
    const answer = await list('');
    expect(ids(answer)).to.deep.equal([second.messageId, first.messageId]);
    const message = answer.json().items[1];
    expect(message).to.include({ registeredMail: true, readStatus: false, visible: true, senderOrganizationId: bed.service.devPki.senders[0]!.enterpriseNumber });
    expect(message.subject).to.deep.equal({ fr: 'Avertissement-extrait de rôle' });
    const attachment = message.attachments.items[0];
    expect(attachment.digest.digestMethod).to.equal('sha_256');
    // base64url (RFC 4648 section 5) of the SHA-256 of the bytes the sender signed.
    expect(attachment.digest.digestValue).to.equal(createHash('sha256').update(first.content).digest('base64url'));
    expect(attachment).to.include({ mainContent: true, mediaType: 'application/pdf', fileName: 'role.pdf' });
    expect(new Date(message.expirationDate).getTime()).to.be.greaterThan(new Date(message.receiptDate).getTime());
  });

  it('GET /ebox/messages: paging', async () => {
    expect(ids(await list('?pageSize=1&page=1'))).to.deep.equal([second.messageId]);
    const page2 = await list('?pageSize=1&page=2');
    expect(ids(page2)).to.deep.equal([first.messageId]);
    expect(page2.json().totalItems).to.equal(2);
    expect(ids(await list('?pageSize=1&page=3'))).to.deep.equal([]);
  });

  it('GET /ebox/messages: each filter selects what it names', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    expect(ids(await list(`?receivedAfter=${today}`))).to.have.length(2);
    expect(ids(await list(`?receivedAfter=${tomorrow}`))).to.deep.equal([]);
    expect(ids(await list(`?receivedBefore=${today}`))).to.deep.equal([]);
    expect(ids(await list(`?receivedBefore=${tomorrow}`))).to.have.length(2);
    const in500days = new Date(Date.now() + 500 * 86400000).toISOString().slice(0, 10);
    expect(ids(await list(`?expiredBefore=${in500days}`)), 'the 400-day message type').to.deep.equal([second.messageId]);
    expect(ids(await list(`?expiredAfter=${in500days}`))).to.deep.equal([first.messageId]);
    expect(ids(await list('?registeredMail=true'))).to.have.length(2);
    expect(ids(await list('?registeredMail=false'))).to.deep.equal([]);
    expect(ids(await list('?messageTypeId=NSSO_CONTRACT'))).to.deep.equal([second.messageId]);
    expect(ids(await list(`?senderOrganizationId=${bed.service.devPki.senders[0]!.enterpriseNumber}`))).to.deep.equal([first.messageId]);
    expect(ids(await list('?senderApplicationId=epost'))).to.have.length(2);
    expect(ids(await list('?senderApplicationId=other'))).to.deep.equal([]);
    expect(ids(await list('?q=EXTRAIT&qlang=fr'))).to.deep.equal([first.messageId]);
    expect(ids(await list('?q=extrait&qlang=nl')), 'a French subject is not found in Dutch').to.deep.equal([]);
    expect(ids(await list('?q=bijdragen&qlang=nl')), 'the message type name in Dutch').to.deep.equal([second.messageId]);
    expect(ids(await list('?q=50%25&qlang=fr')), 'LIKE wildcards are searched for literally').to.deep.equal([]);
    expect(ids(await list('?readStatus=false'))).to.have.length(2);
    expect(ids(await list('?readStatus=true'))).to.deep.equal([]);
    const download = await citizen(`/ebox/messages/${first.messageId}/attachments/document/content`);
    contract.check('getAttachmentContentById', download);
    expect(ids(await list('?readStatus=true'))).to.deep.equal([first.messageId]);
  });

  it('GET /ebox/messages: a malformed filter is a 400 StatusMessage', async () => {
    for (const query of ['?page=0', '?pageSize=101', '?pageSize=x', '?receivedAfter=2024-13-01', '?readStatus=yes', '?q=x', '?q=x&qlang=it', '?visible=1']) {
      const answer = await list(query);
      expect(answer.status, query).to.equal(400);
      expect(answer.json().code).to.equal('INVALID_DATA');
    }
  });

  it('PATCH /ebox/messages: visibility, all or nothing', async () => {
    const patch = (body: unknown, type = 'application/merge-patch+json') =>
      bed.citizen.request('PATCH', `${CITIZEN_BASE}/ebox/messages`, { headers: { 'content-type': type }, body: JSON.stringify(body) });
    const hidden = await patch({ items: [{ messageId: second.messageId, visible: false }] });
    expect(hidden.status, hidden.text()).to.equal(200);
    contract.check('patchMessagesByEBoxId', hidden);
    expect(ids(await list('?visible=false'))).to.deep.equal([second.messageId]);
    expect(ids(await list('?visible=true'))).to.deep.equal([first.messageId]);
    const partlyUnknown = await patch({ items: [{ messageId: second.messageId, visible: true }, { messageId: toEmployer.messageId, visible: false }] });
    expect(partlyUnknown.status, "a message of another eBox is not found, and nothing changes").to.equal(404);
    contract.check('patchMessagesByEBoxId', partlyUnknown);
    expect(ids(await list('?visible=false'))).to.deep.equal([second.messageId]);
    const malformed = await patch({ items: [{ messageId: second.messageId, visible: 'no' }] });
    expect(malformed.status).to.equal(400);
    contract.check('patchMessagesByEBoxId', malformed);
    const notJson = await bed.citizen.request('PATCH', `${CITIZEN_BASE}/ebox/messages`, { headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).to.equal(400);
    contract.check('patchMessagesByEBoxId', notJson);
    const refused = await bed.citizen.request('PATCH', `${ENTERPRISE_BASE}/ebox/messages`, {
      headers: { 'content-type': 'application/json', 'Ebox-Enterprise-Number': bed.readers.enterpriseUser.enterpriseNumber },
      body: JSON.stringify({ items: [{ messageId: toEmployer.messageId, visible: false }] }),
    });
    expect(refused.status).to.equal(401);
    contract.check('patchMessagesByEBoxId', refused);
  });

  it('GET /ebox/messages/{messageId} and its attachments', async () => {
    const message = await citizen(`/ebox/messages/${first.messageId}`);
    contract.check('getMessageById', message);
    expect(message.json().messageId).to.equal(first.messageId);
    const attachments = await citizen(`/ebox/messages/${first.messageId}/attachments`);
    contract.check('getAttachmentByMessageId', attachments);
    expect(attachments.json().totalItems).to.equal(1);
    const attachment = await citizen(`/ebox/messages/${first.messageId}/attachments/document`);
    contract.check('getAttachmentById', attachment);
    const href = new URL(attachment.json().contentHref);
    const content = await bed.citizen.get(href.pathname);
    contract.check('getAttachmentContentById', content);
    expect(content.body.equals(first.content)).to.equal(true);
    for (const [op, p] of [
      ['getMessageById', `/ebox/messages/${toEmployer.messageId}`],
      ['getAttachmentByMessageId', `/ebox/messages/${toEmployer.messageId}/attachments`],
      ['getAttachmentById', `/ebox/messages/${first.messageId}/attachments/other`],
      ['getAttachmentContentById', `/ebox/messages/${toEmployer.messageId}/attachments/document/content`],
    ] as const) {
      const answer = await citizen(p);
      expect(answer.status, p).to.equal(404);
      contract.check(op, answer);
    }
    const refused = await bed.citizen.get(`${ENTERPRISE_BASE}/ebox/messages/${toEmployer.messageId}`);
    expect(refused.status).to.equal(401);
    contract.check('getMessageById', refused);
  });

  it('reference data: message types, sender organisations, sender applications', async () => {
    const types = await citizen('/referenceData/messageTypes');
    contract.check('getAllMessagesTypes', types);
    expect(types.json().items.map((t: { messageTypeId: string }) => t.messageTypeId)).to.include.members(['REGISTERED_MAIL', 'NSSO_CONTRACT']);
    const type = await citizen('/referenceData/messageTypes/NSSO_CONTRACT');
    contract.check('getMessageTypeById', type);
    expect(type.json().validityPeriod).to.deep.equal({ validityPeriodNumber: 400, validityPeriodUnit: 'day' });
    contract.check('getMessageTypeById', await citizen('/referenceData/messageTypes/NOPE'));
    contract.check('getAllMessagesTypes', await citizen('/referenceData/messageTypes?pageSize=0'));
    const orgs = await bed.enterpriseUser.get(`${ENTERPRISE_BASE}/referenceData/senderOrganizations`);
    contract.check('findAllSenderOrganizations', orgs);
    expect(orgs.json().totalItems).to.equal(bed.service.devPki.senders.length);
    const nsso = bed.service.devPki.senders[1]!.enterpriseNumber;
    const org = await citizen(`/referenceData/senderOrganizations/${nsso}`);
    contract.check('getSenderOrganizationById', org);
    expect(org.json().messageTypeIds).to.deep.equal(['NSSO_CONTRACT']);
    contract.check('getSenderOrganizationById', await citizen('/referenceData/senderOrganizations/0000000097'));
    const image = await citizen(`/referenceData/senderOrganizations/${nsso}/images/logo/content`);
    expect(image.status).to.equal(404);
    contract.check('getImageForSenderOrganization', image);
    contract.check('findAllSenderApplications', await citizen('/referenceData/senderApplications'));
    contract.check('getSenderApplicationById', await citizen('/referenceData/senderApplications/epost'));
    contract.check('getSenderApplicationById', await citizen('/referenceData/senderApplications/other'));
    const anonymous = await bed.citizen.at(bed.service.baseUrl).get(`${CITIZEN_BASE}/referenceData/messageTypes`);
    expect(anonymous.status).to.equal(401);
    contract.check('getAllMessagesTypes', anonymous);
  });

  it("ePost's notices validate as Messages: registeredMail false, sent by ePost, one attachment", async () => {
    const employer = bed.readers.enterpriseUser.enterpriseNumber;
    const noticeId = await bed.service.ctx.db.transaction((trx) =>
      postNotice(statementsOf(trx), bed.service.ctx.vault, {
        eBox: { kind: 'enterprise', ownerId: employer },
        kind: 'BatchAvailable',
        subject: { fr: 'Lot disponible', nl: 'Batch beschikbaar', de: 'Stapel verfügbar', en: 'Batch available' },
        attachment: { fileName: 'batch.txt', mimeType: 'text/plain', content: Buffer.from('{"mails":1}') },
        batchId: 'contract-batch',
        at: new Date(),
      }),
    );
    // A send-proof copy as the send path posts it (text/xml), so both kinds are validated.
    const copyId = await bed.service.ctx.db.transaction((trx) =>
      copySendProof(statementsOf(trx), bed.service.ctx, { senderEnterpriseNumber: employer, senderReference: 'ref-1', registeredMailId: toEmployer.registeredMailId, sendProofId: 'p', sendProof: Buffer.from('<Evidence/>'), at: new Date(Date.now() - 1000) }),
    );
    const enterprise = (p: string) => bed.enterpriseUser.get(`${ENTERPRISE_BASE}${p}`);
    const listed = await enterprise('/ebox/messages?registeredMail=false');
    contract.check('getMessagesByEBoxId', listed);
    expect(ids(listed)).to.deep.equal([noticeId, copyId]);
    contract.check('getMessageById', await enterprise(`/ebox/messages/${copyId}`));
    const mails = await enterprise('/ebox/messages?registeredMail=true');
    contract.check('getMessagesByEBoxId', mails);
    expect(ids(mails)).to.deep.equal([toEmployer.messageId]);
    const message = await enterprise(`/ebox/messages/${noticeId}`);
    contract.check('getMessageById', message);
    expect(message.json()).to.include({ registeredMail: false, senderOrganizationId: bed.service.ctx.config.epostEnterpriseNumber, messageTypeId: 'EPOST_BATCH_AVAILABLE' });
    const attachments = await enterprise(`/ebox/messages/${noticeId}/attachments`);
    contract.check('getAttachmentByMessageId', attachments);
    expect(attachments.json().totalItems).to.equal(1);
    const attachment = await enterprise(`/ebox/messages/${noticeId}/attachments/document`);
    contract.check('getAttachmentById', attachment);
    expect(attachment.json().digest.digestValue).to.equal(createHash('sha256').update('{"mails":1}').digest('base64url'));
    const content = await bed.enterpriseUser.get(new URL(attachment.json().contentHref).pathname);
    contract.check('getAttachmentContentById', content);
    expect(content.text()).to.equal('{"mails":1}');
    const summary = await enterprise('/ebox');
    contract.check('getEBoxById', summary);
    expect(summary.json().numberOfMessages).to.equal(3);
    const type = await citizen('/referenceData/messageTypes/EPOST_BATCH_AVAILABLE');
    contract.check('getMessageTypeById', type);
  });

  it('answers every operation the specification marks required with a validated 200 (image: no logos, 404)', () => {
    const required = [...contract.operations.values()].filter((op) => /is required/.test(op.description));
    expect(required.length).to.be.greaterThan(10);
    for (const op of required) {
      const statuses = contract.checked.get(op.operationId);
      expect(statuses, `${op.operationId} (${op.method} ${op.path}) was never exercised`).to.not.equal(undefined);
      const expected = op.operationId === 'getImageForSenderOrganization' ? '404' : '200';
      expect([...statuses!], op.operationId).to.include(expected);
    }
  });
});
