// Who may read which eBox: a person reads their own citizen eBox; an enterprise user reads the eBox
// of the enterprise they hold a role for; a mandatary reads a mandator enterprise's eBox within the
// scope (message types) and period of a mandate in force, given to them or to an organisation they
// hold a role for. Nothing else: no right is ever inferred from a message's existence.
import { enterprisesOfPerson } from '../access/enterpriseUsers.js';
import { mandatesInForce, type Mandate } from '../access/mandates.js';
import { EpostError } from '../errors/index.js';
import { isValidEnterpriseNumber } from '../identifiers/index.js';
import type { Database } from '../storage/index.js';
import { NOTICE_MESSAGE_TYPES } from './messageTypes.js';
import type { EboxReader } from './readers.js';

export interface EboxAddress {
  kind: 'citizen' | 'enterprise';
  /** SSIN or enterprise number. */
  ownerId: string;
}

export type ReaderCapacity = 'owner' | 'enterpriseUser' | 'mandatary';

export interface ReadingRight {
  reader: EboxReader;
  eBox: EboxAddress;
  capacity: ReaderCapacity;
  /** The mandates relied upon (a mandatary only): their message types make up the scope. */
  mandates: Mandate[];
}

/*
 * Notices and mandates. A batch announcement (BatchAvailable) concerns the eBox as a whole: every
 * mandatary of the enterprise sees it, whatever the message types of the mandate (the mails of the
 * batch stay within scope one by one). A send-proof copy (SendProofCopy) is the enterprise's own
 * record as a sender, not mail addressed to it: only its users see it, never a mandatary, even one
 * whose mandate names that message type.
 */
const EVERY_MANDATARY_SEES = [NOTICE_MESSAGE_TYPES.BatchAvailable];
const NO_MANDATARY_SEES = [NOTICE_MESSAGE_TYPES.SendProofCopy];

/** The message types a right covers; undefined: all of them. */
export function scopeOf(right: ReadingRight): string[] | undefined {
  if (right.capacity !== 'mandatary') return undefined;
  const scope = right.mandates.flatMap((m) => m.messageTypeIds).filter((t) => !NO_MANDATARY_SEES.includes(t));
  return [...new Set([...scope, ...EVERY_MANDATARY_SEES])].sort();
}

/** The mandate that covers a message of this type (the oldest first); undefined for owners and enterprise users. */
export function mandateFor(right: ReadingRight, messageTypeId: string): Mandate | undefined {
  if (right.capacity !== 'mandatary' || NO_MANDATARY_SEES.includes(messageTypeId)) return undefined;
  const covering = right.mandates.find((m) => m.messageTypeIds.includes(messageTypeId));
  return covering ?? (EVERY_MANDATARY_SEES.includes(messageTypeId) ? right.mandates[0] : undefined);
}

interface EnterpriseRights {
  roles: string[];
  mandates: Mandate[];
}

async function enterpriseRights(db: Database, reader: EboxReader, at: Date): Promise<EnterpriseRights> {
  const roles = await enterprisesOfPerson({ db }, reader.ssin);
  const mandates = await mandatesInForce({ db }, { ssin: reader.ssin, organisations: roles }, at);
  return { roles, mandates };
}

/** Every eBox the reader may open now: their citizen eBox first, then enterprises by number. */
export async function eboxesOf(db: Database, reader: EboxReader, at: Date): Promise<EboxAddress[]> {
  const { roles, mandates } = await enterpriseRights(db, reader, at);
  const enterprises = [...new Set([...roles, ...mandates.map((m) => m.mandatorEnterpriseNumber)])].sort();
  return [{ kind: 'citizen', ownerId: reader.ssin }, ...enterprises.map((ownerId) => ({ kind: 'enterprise' as const, ownerId }))];
}

/**
 * The reader's right on the wanted eBox, or undefined when they have none. An enterprise eBox may be
 * left unnamed when the reader can open exactly one.
 */
export async function rightOn(
  db: Database,
  reader: EboxReader,
  wanted: { kind: 'citizen' } | { kind: 'enterprise'; enterpriseNumber?: string | undefined },
  at: Date,
): Promise<ReadingRight | undefined> {
  if (wanted.kind === 'citizen') return { reader, eBox: { kind: 'citizen', ownerId: reader.ssin }, capacity: 'owner', mandates: [] };
  const { roles, mandates } = await enterpriseRights(db, reader, at);
  let enterpriseNumber = wanted.enterpriseNumber;
  if (enterpriseNumber === undefined) {
    const candidates = [...new Set([...roles, ...mandates.map((m) => m.mandatorEnterpriseNumber)])];
    if (candidates.length > 1) {
      throw new EpostError('InvalidRequest', 'You may read several enterprise eBoxes: name one with the Ebox-Enterprise-Number header');
    }
    enterpriseNumber = candidates[0];
    if (enterpriseNumber === undefined) return undefined;
  }
  if (!isValidEnterpriseNumber(enterpriseNumber)) throw new EpostError('InvalidRequest', 'Ebox-Enterprise-Number is not a valid enterprise number');
  const eBox: EboxAddress = { kind: 'enterprise', ownerId: enterpriseNumber };
  if (roles.includes(enterpriseNumber)) return { reader, eBox, capacity: 'enterpriseUser', mandates: [] };
  const relied = mandates.filter((m) => m.mandatorEnterpriseNumber === enterpriseNumber);
  return relied.length > 0 ? { reader, eBox, capacity: 'mandatary', mandates: relied } : undefined;
}
