// wsu:Timestamp rules: Created and Expires both present, Expires after Created, a lifetime no longer
// than the configured maximum, Created not further in the future than the tolerated clock skew, and
// not yet expired. The lifetime bounds how long the replay store must remember a signature.
import { EpostError } from '../errors/index.js';
import { childElements, describeElement, is, textOnly } from './dom.js';
import { WSU_NS } from './namespaces.js';

export interface TimestampWindow {
  created: Date;
  expires: Date;
}

export interface TimestampPolicy {
  now: Date;
  maxTtlSeconds: number;
  clockSkewSeconds: number;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function expired(reason: string): never {
  throw new EpostError('MessageExpired', reason);
}

/** Strict xsd:dateTime with a mandatory time zone; impossible dates (February 30) are refused rather than rolled over. */
export function parseDateTime(value: string): Date | undefined {
  const match = DATE_TIME.exec(value.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  if (utc.getUTCDate() !== day || utc.getUTCMonth() !== month - 1) return undefined;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  return new Date(utc.getTime() - offsetMinutes * 60_000);
}

function readInstant(timestamp: Element, localName: 'Created' | 'Expires'): Date {
  const elements = childElements(timestamp).filter((e) => is(e, WSU_NS, localName));
  if (elements.length === 0) expired(`The wsu:Timestamp has no ${localName}.`);
  if (elements.length > 1) throw new EpostError('InvalidSecurity', `The wsu:Timestamp has more than one ${localName}.`);
  const text = textOnly(elements[0]!);
  const instant = text === undefined ? undefined : parseDateTime(text);
  if (!instant) expired(`The wsu:Timestamp ${localName} "${(text ?? '').trim().slice(0, 40)}" is not a date and time with a time zone.`);
  return instant;
}

/** Reads Created and Expires; structural problems only, the time rules are in checkTimestamp. */
export function readTimestamp(timestamp: Element): TimestampWindow {
  for (const child of childElements(timestamp)) {
    if (!is(child, WSU_NS, 'Created') && !is(child, WSU_NS, 'Expires')) {
      throw new EpostError('InvalidSecurity', `The wsu:Timestamp contains an unexpected element ${describeElement(child)}.`);
    }
  }
  return { created: readInstant(timestamp, 'Created'), expires: readInstant(timestamp, 'Expires') };
}

export function checkTimestamp({ created, expires }: TimestampWindow, policy: TimestampPolicy): void {
  const lifetimeSeconds = (expires.getTime() - created.getTime()) / 1000;
  if (lifetimeSeconds <= 0) expired('The wsu:Timestamp expires before it was created.');
  if (lifetimeSeconds > policy.maxTtlSeconds) {
    expired(`The wsu:Timestamp lives ${lifetimeSeconds} s; at most ${policy.maxTtlSeconds} s are accepted.`);
  }
  if (created.getTime() - policy.now.getTime() > policy.clockSkewSeconds * 1000) {
    expired(`The wsu:Timestamp was created in the future (${created.toISOString()}), beyond the ${policy.clockSkewSeconds} s of clock skew tolerated.`);
  }
  if (policy.now.getTime() >= expires.getTime()) expired(`The message expired at ${expires.toISOString()}.`);
}
