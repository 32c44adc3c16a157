'use strict';
// Runs before `npm start`, `npm run simulate` and `npm test`. Plain CommonJS with nothing newer
// than ES5 plus `const`, so that the old Node it is meant to catch can run it: on Node 20 the
// stack fails deep inside undici with a TypeError that names nothing useful.
const required = require('../package.json').engines.node;
const wanted = /^>=\s*(\d+)(?:\.(\d+))?/.exec(required);
const found = process.versions.node.split('.').map(Number);
const major = Number(wanted[1]);
const minor = Number(wanted[2] || 0);

const script = (process.env.npm_lifecycle_event || 'prestart').replace(/^pre/, '');
const command = script === 'start' || script === 'test' ? 'npm ' + script : 'npm run ' + script;

if (found[0] < major || (found[0] === major && found[1] < minor)) {
  console.error(
    'This project needs Node.js ' + required + ' but found ' + process.version + '. ' +
      'Get it with `nvm install ' + major + '`, or run once without installing: `npx -y -p node@' + major + ' -- ' + command + '`.',
  );
  process.exit(1);
}
