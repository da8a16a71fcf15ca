import { randomBytes } from 'node:crypto';

/** Sortable-enough, URL-safe ids: time prefix + randomness. */
export function newId(kind: 'p' | 'e' | 'w' | 'b'): string {
  return `${kind}${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}
export function newLeaseToken(): string {
  return randomBytes(24).toString('hex');
}
