/**
 * Masks a phone number or BSUID for logs: `+5491155550001` → `+54*******0001`,
 * `AR.13491208655302741918` → `AR.****************1918`. Enough to follow one user, not to contact them.
 */
export function maskUserId(id: string | undefined): string {
  if (!id) return '(none)';
  const bsuid = /^([A-Z]{2}(?:\.ENT)?\.)(.+)$/.exec(id);
  if (bsuid) return bsuid[1] + maskMiddle(bsuid[2] ?? '', 0, 4);
  const digits = id.replace(/^\+/, '');
  return '+' + maskMiddle(digits, 2, 4);
}

function maskMiddle(value: string, keepStart: number, keepEnd: number): string {
  if (value.length <= keepStart + keepEnd) return '*'.repeat(value.length);
  return value.slice(0, keepStart) + '*'.repeat(value.length - keepStart - keepEnd) + value.slice(-keepEnd);
}
