// Belgian identifiers that address an eBox: the national register number (SSIN/NISS/INSZ) of a
// person and the enterprise number (KBO/BCE) of an organisation. Both end in a mod-97 check.

/** 11 digits YYMMDDSSSCC; CC = 97 - (YYMMDDSSS mod 97), or with a leading 2 for births from 2000. */
export function isValidSsin(value: string): boolean {
  if (!/^\d{11}$/.test(value)) return false;
  const base = BigInt(value.slice(0, 9));
  const check = Number(value.slice(9));
  const before2000 = 97 - Number(base % 97n);
  const from2000 = 97 - Number((2000000000n + base) % 97n);
  return check === before2000 || check === from2000;
}

/** 10 digits starting with 0 or 1; the last two are 97 - (first eight mod 97). */
export function isValidEnterpriseNumber(value: string): boolean {
  if (!/^[01]\d{9}$/.test(value)) return false;
  return Number(value.slice(8)) === 97 - (Number(value.slice(0, 8)) % 97);
}

/** Completes eight digits into a valid enterprise number (development data and tests). */
export function enterpriseNumberFrom(firstEight: string): string {
  if (!/^[01]\d{7}$/.test(firstEight)) throw new Error('eight digits starting with 0 or 1 expected');
  return firstEight + String(97 - (Number(firstEight) % 97)).padStart(2, '0');
}

/** Completes YYMMDDSSS into a valid SSIN under the pre- or post-2000 rule (development data and tests). */
export function ssinFrom(firstNine: string, bornFrom2000 = false): string {
  if (!/^\d{9}$/.test(firstNine)) throw new Error('nine digits expected');
  const base = BigInt(firstNine) + (bornFrom2000 ? 2000000000n : 0n);
  return firstNine + String(97 - Number(base % 97n)).padStart(2, '0');
}

export type RecipientKind = 'citizen' | 'enterprise';

export interface Recipient {
  kind: RecipientKind;
  /** SSIN for a citizen, enterprise number for an enterprise. */
  id: string;
}
export { timeOrderedId } from './timeOrderedId.js';
export { pooledRandomBytes } from './random.js';
