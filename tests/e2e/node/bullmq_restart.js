// bullmq_restart.js PORT - BullMQ across a crash of the server: adds 300
// jobs, and once a third of them are done prints 'KILL NOW'; the test then
// kills dredis-server (SIGKILL) and starts it again on the same port and
// ROOT_DIR, answering on stdin 'RESTARTED'. Every job added must still be
// completed (at least once) after the workers reconnect.
'use strict';
const readline = require('readline');
const { Queue, Worker } = require('bullmq');
const { PORT, eq, waitFor, runSections } = require('./lib');

const DEADLINE = Number(process.env.NODE_E2E_DEADLINE_MS || 240000);
const connection = { host: '127.0.0.1', port: PORT, retryStrategy: () => 100 };
const closers = [];
// connection errors while the server is down are expected, and so is
// 'Missing lock' for a job finished just before the crash: its reply was
// lost, ioredis sends the command again, and the job is already done
const quiet = (what) => (e) => {
  if (!/ECONNREFUSED|ECONNRESET|Connection is closed|EPIPE|Missing lock/.test(String(e))) {
    console.log('%s error: %s', what, e);
  }
};

let restarted = false;
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (l) => { if (l.trim() === 'RESTARTED') restarted = true; });

async function crash() {
  const q = new Queue('e2e-crash', { connection });
  q.on('error', quiet('queue'));
  closers.push(() => q.close());
  await q.obliterate({ force: true });
  const done = new Set();
  let runs = 0;
  const worker = new Worker('e2e-crash', async (job) => {
    runs += 1;
    return job.data.n;
  }, { connection, concurrency: 5, lockDuration: 3000, stalledInterval: 1000, maxStalledCount: 5 });
  worker.on('error', quiet('worker'));
  worker.on('completed', (job) => done.add(job.data.n));
  closers.push(() => worker.close());
  await q.addBulk(Array.from({ length: 300 }, (_, n) => ({ name: 'j', data: { n } })));
  await waitFor(() => done.size >= 100, DEADLINE, 'a third of the jobs');
  console.log('KILL NOW');
  await waitFor(() => restarted, DEADLINE, 'the server to be restarted');
  let counts;
  await waitFor(async () => {
    try {
      counts = await q.getJobCounts('completed', 'failed', 'active', 'wait', 'delayed');
    } catch (e) {
      return false;
    }
    return counts.completed + counts.failed === 300 && counts.active === 0;
  }, DEADLINE, 'every job to finish after the restart').catch(() => {});
  eq(counts, { completed: 300, failed: 0, active: 0, wait: 0, delayed: 0 }, 'after the crash');
  const values = [];
  for (const job of await q.getJobs(['completed'], 0, -1)) values.push(job.returnvalue);
  eq(values.sort((a, b) => a - b), Array.from({ length: 300 }, (_, n) => n));
  console.log('   %d jobs, %d runs (a job may run again after a crash)', 300, runs);
}

runSections([['bullmq across a server crash', crash]], async () => {
  rl.close();
  for (const c of closers) await c();
});
