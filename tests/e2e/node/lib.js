// lib.js - what the end-to-end Node programs share: checks that report
// which step failed, bounded waits, and the 'ok SECTION' / 'ALL OK' output
// that tests/integration/test_e2e_node.py reads.
'use strict';
const assert = require('assert');

const PORT = Number(process.argv[process.argv.length - 1]);
if (!PORT) {
  console.error('usage: node SCRIPT PORT');
  process.exit(2);
}

function eq(actual, expected, what) {
  assert.deepStrictEqual(actual, expected, what);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls cond() (sync or async) until it is truthy or timeoutMs pass; a
// deadline against hangs, not a timing assertion.
async function waitFor(cond, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await sleep(20);
  }
}

// Runs the named async sections in order, prints 'ok NAME (Ns)' for each,
// 'ALL OK' at the end; on the first failure prints it and exits 1.
async function runSections(sections, cleanup) {
  let code = 0;
  for (const [name, fn] of sections) {
    const t0 = Date.now();
    try {
      const r = await fn();
      if (r !== false) console.log('ok %s (%ss)', name, ((Date.now() - t0) / 1000).toFixed(2));
    } catch (e) {
      console.log('FAILED %s', name);
      console.log(e && e.stack ? e.stack : e);
      code = 1;
      break;
    }
  }
  try {
    if (cleanup) await cleanup();
  } catch (e) {
    console.log('cleanup failed: %s', e && e.stack ? e.stack : e);
    code = code || 1;
  }
  if (code === 0) console.log('ALL OK');
  // timers and sockets a library left behind must not keep us alive
  process.exit(code);
}

process.on('unhandledRejection', (e) => {
  console.log('unhandled rejection: %s', e && e.stack ? e.stack : e);
  process.exit(1);
});

module.exports = { PORT, eq, assert, sleep, waitFor, runSections };
