// The vendored snarkjs browser build is exactly the npm package's file, as web/vendor.sh copies
// it, and its recorded version and SHA-256 are right. The package comes from
// .ci/install-node-tools.sh ($ZKINFER_NODE_TOOLS or .ci/node); without it this test is skipped
// with a message, unless CI is set. Run: node --test web/tests/vendor.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const web = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tools = process.env.ZKINFER_NODE_TOOLS || path.join(web, '..', '.ci', 'node');
const pkg = path.join(tools, 'node_modules', 'snarkjs');

const vendored = readFileSync(path.join(web, 'vendor', 'snarkjs.min.js'));
const meta = JSON.parse(readFileSync(path.join(web, 'vendor', 'snarkjs.version.json'), 'utf8'));

test('the recorded SHA-256 is the vendored file\'s', () => {
  assert.equal(createHash('sha256').update(vendored).digest('hex'), meta.sha256);
  assert.equal(meta.file, 'build/snarkjs.min.js');
  // The browser build defines the global the page uses.
  assert.ok(vendored.subarray(0, 20).toString().startsWith('var snarkjs='));
});

test('the vendored file is the installed npm package\'s build/snarkjs.min.js', (t) => {
  if (!existsSync(path.join(pkg, 'package.json'))) {
    const why = `${pkg} not found; run bash .ci/install-node-tools.sh (or set ZKINFER_NODE_TOOLS)`;
    if (process.env.CI) assert.fail(`CI is set and a required tool is missing: ${why}`);
    t.skip(`SKIPPED: ${why}`);
    return;
  }
  const version = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')).version;
  assert.equal(meta.version, version, 'web/vendor is from another snarkjs version: run bash web/vendor.sh');
  const installed = readFileSync(path.join(pkg, 'build', 'snarkjs.min.js'));
  assert.ok(installed.equals(vendored), 'web/vendor/snarkjs.min.js differs from the package: run bash web/vendor.sh');
});
