import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from './constantTimeEqual.js';

describe('constantTimeEqual', () => {
  it('is true only for the identical string', () => {
    expect(constantTimeEqual('s3cr3t-admin-token', 's3cr3t-admin-token')).toBe(true);
    expect(constantTimeEqual('s3cr3t-admin-tokeN', 's3cr3t-admin-token')).toBe(false);
    expect(constantTimeEqual('S3cr3t-admin-token', 's3cr3t-admin-token')).toBe(false);
  });

  it('refuses prefixes, extensions and different lengths without throwing', () => {
    expect(constantTimeEqual('s3cr3t', 's3cr3t-admin-token')).toBe(false);
    expect(constantTimeEqual('s3cr3t-admin-token-and-more', 's3cr3t-admin-token')).toBe(false);
    expect(constantTimeEqual('x'.repeat(10_000), 's3cr3t-admin-token')).toBe(false);
  });

  it('refuses a missing or empty value', () => {
    expect(constantTimeEqual(undefined, 's3cr3t')).toBe(false);
    expect(constantTimeEqual('', 's3cr3t')).toBe(false);
  });

  it('compares Unicode by its UTF-8 bytes', () => {
    expect(constantTimeEqual('contraseña', 'contraseña')).toBe(true);
    expect(constantTimeEqual('contrasena', 'contraseña')).toBe(false);
    // Same UTF-16 length, different bytes.
    expect(constantTimeEqual('é', 'e')).toBe(false);
  });
});
