#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const entry = path.join(__dirname, '..', 'dist', 'system', 'cli.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('im-cloud: not built yet; run `npm run build` first\n');
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).then((code) => process.exit(code));
