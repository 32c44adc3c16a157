import { describe, expect, it } from 'vitest';
import { maskUserId } from './maskUserId.js';

describe('maskUserId', () => {
  it.each([
    ['+5215512345678', '+52*******5678'],
    ['5215512345678', '+52*******5678'],
    ['5491155550001', '+54*******0001'],
    ['15550001234', '+15*****1234'],
  ])('masks the phone number %s as %s', (input, expected) => {
    expect(maskUserId(input)).toBe(expected);
  });

  it('gives the same mask with and without the +, so one filter follows a user', () => {
    expect(maskUserId('+447700900123')).toBe(maskUserId('447700900123'));
  });

  it.each([
    ['AR.13491208655302741918', 'AR.****************1918'],
    ['US.13491208655302741918', 'US.****************1918'],
    ['US.ENT.99887766554433221100', 'US.ENT.****************1100'],
  ])('keeps a BSUID’s country prefix and last 4: %s → %s', (input, expected) => {
    expect(maskUserId(input)).toBe(expected);
  });

  it('keeps the length, hiding everything but the prefix and the last 4', () => {
    expect(maskUserId('+5215512345678')).toHaveLength('+5215512345678'.length);
    expect(maskUserId('AR.13491208655302741918')).toHaveLength('AR.13491208655302741918'.length);
    expect(maskUserId('5215512345678').replace(/\*/g, '')).toBe('+525678');
  });

  it('masks a number too short to keep anything entirely', () => {
    expect(maskUserId('123456')).toBe('+******');
    expect(maskUserId('12')).toBe('+**');
  });

  it('says (none) for a missing id', () => {
    expect(maskUserId(undefined)).toBe('(none)');
    expect(maskUserId('')).toBe('(none)');
  });
});
