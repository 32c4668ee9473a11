// bull.js PORT - a Bull (v4) queue against a dredis-server on
// 127.0.0.1:PORT: plain jobs with concurrency, delayed jobs, priorities,
// retries with fixed and exponential backoff, failing jobs, progress,
// pause/resume, clean and obliterate, the rate limiter, repeatable jobs, and
// a worker killed (SIGKILL) mid-job whose job is recovered as stalled.
'use strict';
const path = require('path');
const { spawn } = require('child_process');
const Queue = require('bull');
const { PORT, eq, assert, waitFor, runSections } = require('./lib');

const DEADLINE = Number(process.env.NODE_E2E_DEADLINE_MS || 240000);
const redis = { host: '127.0.0.1', port: PORT };
const queues = [];
function queue(name, opts) {
  const q = new Queue(name, { redis, ...opts });
  q.on('error', (e) => console.log('queue %s error: %s', name, e && e.stack ? e.stack : e));
  queues.push(q);
  return q;
}

// wait until the queue's counts reach `want` (or the deadline passes), then
// compare them
async function settle(q, want) {
  let counts;
  try {
    await waitFor(async () => {
      counts = await q.getJobCounts();
      return Object.keys(want).every((k) => counts[k] === want[k]);
    }, DEADLINE, 'jobs to settle');
  } catch (e) {
    // report the counts reached, not just the time-out
  }
  const got = {};
  for (const k of Object.keys(want)) got[k] = counts[k];
  eq(got, want, 'job counts of ' + q.name);
  return counts;
}

async function mainQueue() {
  const q = queue('e2e-main');
  await q.empty();
  const calls = new Map(); // job name -> attempts seen by the processor
  const completedEvents = [];
  const failedEvents = [];
  q.on('completed', (job, result) => completedEvents.push([job.id, result]));
  q.on('failed', (job, err) => failedEvents.push([job.id, err.message]));
  q.process(5, async (job) => {
    const key = job.data.kind + ':' + job.data.n;
    calls.set(key, (calls.get(key) || 0) + 1);
    switch (job.data.kind) {
      case 'plain':
        await job.progress(50);
        return job.data.n * 2;
      case 'delayed':
        return 'late ' + job.data.n;
      case 'flaky':
        if (calls.get(key) < 3) throw new Error('flaky ' + job.data.n + ' attempt ' + calls.get(key));
        return 'recovered ' + job.data.n;
      case 'failing':
        throw new Error('boom ' + job.data.n);
      default:
        throw new Error('unknown kind');
    }
  });
  const jobs = { plain: [], delayed: [], flakyFixed: [], flakyExp: [], exhausted: [], failing: [] };
  for (let n = 0; n < 100; n++) jobs.plain.push(await q.add({ kind: 'plain', n }));
  for (let n = 0; n < 10; n++) jobs.delayed.push(await q.add({ kind: 'delayed', n }, { delay: 300 + 100 * n }));
  for (let n = 0; n < 5; n++) {
    jobs.flakyFixed.push(await q.add({ kind: 'flaky', n }, { attempts: 3, backoff: { type: 'fixed', delay: 100 } }));
  }
  for (let n = 5; n < 10; n++) {
    jobs.flakyExp.push(await q.add({ kind: 'flaky', n }, { attempts: 4, backoff: { type: 'exponential', delay: 50 } }));
  }
  for (let n = 0; n < 5; n++) {
    jobs.exhausted.push(await q.add({ kind: 'failing', n }, { attempts: 2, backoff: 10 }));
  }
  for (let n = 5; n < 10; n++) jobs.failing.push(await q.add({ kind: 'failing', n }));
  const counts = await settle(q, { completed: 120, failed: 10, active: 0, waiting: 0, delayed: 0 });
  for (const j of jobs.plain) {
    const job = await q.getJob(j.id);
    eq([job.returnvalue, job.progress(), job.finishedOn > 0], [job.data.n * 2, 50, true], 'plain job ' + j.id);
    eq(calls.get('plain:' + job.data.n), 1, 'a plain job runs once');
  }
  for (const j of jobs.delayed) {
    const job = await q.getJob(j.id);
    eq(job.returnvalue, 'late ' + job.data.n);
    assert(job.processedOn >= job.timestamp + job.opts.delay,
      'delayed job ran ' + (job.processedOn - job.timestamp) + 'ms after it was added, before its delay ' + job.opts.delay);
  }
  for (const j of jobs.flakyFixed.concat(jobs.flakyExp)) {
    const job = await q.getJob(j.id);
    eq([job.returnvalue, calls.get('flaky:' + job.data.n)], ['recovered ' + job.data.n, 3], 'retried job ' + j.id);
    eq(await job.getState(), 'completed');
  }
  for (const j of jobs.exhausted) {
    const job = await q.getJob(j.id);
    eq([await job.getState(), job.failedReason, job.attemptsMade, calls.get('failing:' + job.data.n)],
      ['failed', 'boom ' + job.data.n, 2, 2], 'job failing all its attempts ' + j.id);
    assert(job.stacktrace.length >= 1);
  }
  for (const j of jobs.failing) {
    const job = await q.getJob(j.id);
    eq([await job.getState(), job.failedReason, job.attemptsMade], ['failed', 'boom ' + job.data.n, 1], 'failing job');
  }
  eq(completedEvents.length, 120, 'completed events');
  eq(failedEvents.length, 10 * 2 + 5 * 2 + 5, 'failed events (one per failed attempt)');
  eq((await q.getFailed()).length, 10);
  eq((await q.getCompleted(0, 9)).length, 10);
  // a failed job retried by hand runs again (and fails again)
  const again = await q.getJob(jobs.failing[0].id);
  await again.retry();
  await settle(q, { completed: 120, failed: 10, active: 0, waiting: 0 });
  eq(calls.get('failing:5'), 2, 'job.retry() ran the job again');
  const workers = await q.getWorkers();
  assert(workers.length >= 1, 'getWorkers (CLIENT LIST) finds this process');
  // pause: jobs added while paused wait; resume runs them
  await q.pause();
  const paused = await q.add({ kind: 'plain', n: 1000 });
  eq(await (await q.getJob(paused.id)).getState(), 'paused');
  await q.resume();
  await settle(q, { completed: 121, failed: 10, active: 0, waiting: 0, paused: 0 });
  eq((await q.getJob(paused.id)).returnvalue, 2000);
  // housekeeping scripts
  const cleaned = await q.clean(0, 'completed');
  eq(cleaned.length, 121, 'clean(completed)');
  eq((await q.getJobCounts()).completed, 0);
  console.log('   jobs settled: %j', counts);
}

async function priorities() {
  const q = queue('e2e-prio');
  await q.empty();
  // all jobs wait before the one worker starts: it takes them by priority
  // (1 is the highest)
  const prios = [];
  for (let n = 0; n < 30; n++) prios.push(1 + ((n * 7) % 3));
  for (let n = 0; n < 30; n++) await q.add({ n }, { priority: prios[n] });
  const order = [];
  q.process(1, async (job) => {
    order.push(job.opts.priority);
    return job.data.n;
  });
  await settle(q, { completed: 30, failed: 0, active: 0, waiting: 0 });
  eq(order, prios.slice().sort(), 'jobs ran in priority order: ' + order.join(','));
}

async function lifoAndJobIds() {
  const q = queue('e2e-misc');
  await q.empty();
  await q.add({ n: 1 }, { jobId: 'custom-id' });
  await q.add({ n: 2 }, { jobId: 'custom-id' }); // the same id is added once
  eq((await q.getJobCounts()).waiting, 1);
  eq((await q.getJob('custom-id')).data, { n: 1 });
  await q.add({ n: 3 }, { lifo: true });
  const seen = [];
  q.process(async (job) => {
    seen.push(job.data.n);
  });
  await settle(q, { completed: 2, active: 0, waiting: 0 });
  eq(seen, [3, 1], 'a LIFO job runs first');
  await q.obliterate({ force: true });
  eq(await q.count(), 0);
}

async function extras() {
  const q = queue('e2e-extras', { limiter: { max: 10, duration: 200 } });
  await q.empty();
  // a delayed job promoted; a job removed; logs; removeOnComplete
  const late = await q.add({ kind: 'late' }, { delay: 3600 * 1000 });
  eq(await late.getState(), 'delayed');
  await late.promote();
  eq(await late.getState(), 'waiting');
  const gone = await q.add({ kind: 'gone' });
  await gone.remove();
  eq(await q.getJob(gone.id), null);
  const ran = [];
  q.process(4, async (job) => {
    ran.push(job.data.kind);
    if (job.data.kind === 'discard') {
      job.discard();
      throw new Error('discarded');
    }
    await job.log('ran ' + job.id);
    return job.data.n;
  });
  await settle(q, { completed: 1, active: 0, waiting: 0, delayed: 0 });
  eq((await q.getJobLogs(late.id)).logs, ['ran ' + late.id]);
  // removeOnComplete: 5 keeps the last five completed jobs of the queue
  for (let n = 0; n < 30; n++) await q.add({ kind: 'rate', n }, { removeOnComplete: 5 });
  const dis = await q.add({ kind: 'discard' }, { attempts: 5 });
  await settle(q, { completed: 5, failed: 1, active: 0, waiting: 0, delayed: 0 });
  eq(ran.filter((k) => k === 'rate').length, 30, 'the rate-limited jobs all ran');
  eq(ran.filter((k) => k === 'discard').length, 1, 'a discarded job is not retried');
  eq((await q.getJob(dis.id)).attemptsMade, 1);
  // repeatable: every 100 ms, three times
  let ticks = 0;
  const rq = queue('e2e-repeat');
  await rq.empty();
  rq.process(async () => { ticks += 1; });
  await rq.add({}, { repeat: { every: 100, limit: 3 }, jobId: 'tick' });
  eq((await rq.getRepeatableJobs()).length, 1);
  await waitFor(() => ticks >= 3, DEADLINE, 'three repetitions');
  await settle(rq, { completed: 3, active: 0, waiting: 0 });
  eq(ticks, 3);
  // (not whenCurrentJobsFinished: it drops the blocking connection on purpose,
  // and the queue then logs 'Connection is closed', against Redis too)
  eq(await q.getJobCountByTypes(['completed', 'failed']), 6);
  await q.isReady();
}

async function stalled() {
  const name = 'e2e-stall';
  const settings = { lockDuration: 2000, stalledInterval: 500, maxStalledCount: 1 };
  const q = queue(name, { settings });
  await q.empty();
  const job = await q.add({ n: 1 });
  // a worker in another process takes the job and is killed mid-job
  const child = spawn(process.execPath, [path.join(__dirname, 'bull_stall_worker.js'), String(PORT)],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve(sig || code)));
  try {
    await waitFor(() => out.includes('STARTED ' + job.id), 60000, 'the child worker to start the job');
  } finally {
    child.kill('SIGKILL');
  }
  eq(await exited, 'SIGKILL');
  eq(await job.getState(), 'active', 'the killed worker leaves its job active');
  const stalledIds = [];
  q.on('stalled', (j) => stalledIds.push(j.id));
  q.process(async (j) => 'recovered ' + j.data.n);
  await settle(q, { completed: 1, failed: 0, active: 0, waiting: 0 });
  eq((await q.getJob(job.id)).returnvalue, 'recovered 1');
  eq(stalledIds, [job.id], 'the queue reported the job stalled');
}

runSections([
  ['bull queue: plain, delayed, retried and failing jobs', mainQueue],
  ['bull priorities', priorities],
  ['bull job ids, lifo, obliterate', lifoAndJobIds],
  ['bull extras: promote, remove, logs, limiter, removeOnComplete, discard, repeat', extras],
  ['bull worker killed mid-job, job recovered as stalled', stalled],
], async () => {
  for (const q of queues) await q.close();
});
