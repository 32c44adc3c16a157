/**
 * `npm run migrate-sessions -- --number <phone_number_id> [--dry-run]`: moves the sessions written
 * before sessions were kept per business number (`whatsapp_sessions/{userId}`) to the number the
 * deployment served until then (`whatsapp_sessions/{phoneNumberId}:{userId}`). Idempotent: run it
 * again and it finds nothing to move. Uses GOOGLE_CLOUD_PROJECT (and FIRESTORE_EMULATOR_HOST
 * locally) with your Application Default Credentials.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Firestore } from '@google-cloud/firestore';
import { LOCAL_DEFAULTS } from '../local/stack.js';
import { migrateLegacySessions } from './sessions/migrateLegacySessions.js';

if (existsSync('.env')) process.loadEnvFile('.env');

const { values } = parseArgs({ options: { number: { type: 'string' }, 'dry-run': { type: 'boolean', default: false } } });
if (!values.number || !/^\d+$/.test(values.number)) {
  console.error('usage: npm run migrate-sessions -- --number <phone_number_id> [--dry-run]');
  console.error('  --number: the business phone_number_id the deployment served before sessions were kept per number');
  process.exit(2);
}
const projectId = process.env.GOOGLE_CLOUD_PROJECT || LOCAL_DEFAULTS.GOOGLE_CLOUD_PROJECT;
const db = new Firestore({ projectId });
const report = await migrateLegacySessions(db, { phoneNumberId: values.number, dryRun: values['dry-run'], log: console.log });
console.log(
  values['dry-run']
    ? `${report.legacy} legacy session(s) in ${projectId} would move to number ${values.number}`
    : `${report.legacy} legacy session(s): ${report.moved} moved to number ${values.number}, ${report.supersededByNewer} dropped for a newer session of the same conversation`,
);
await db.terminate();
