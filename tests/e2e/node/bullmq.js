// bullmq.js PORT - BullMQ (v5) against a dredis-server on 127.0.0.1:PORT:
// plain jobs with concurrency, delayed jobs, priorities, retries with fixed
// and exponential backoff, failing jobs, QueueEvents (streams), a flow of
// parent and child jobs, repeatable jobs, and a worker killed (SIGKILL) in
// the middle of a job whose job another worker recovers as stalled.
'use strict';
const path = require('path');
const { spawn } = require('child_process');
const { Queue, Worker, QueueEvents, FlowProducer } = require('bullmq');
const { PORT, eq, assert, waitFor, runSections } = require('./lib');

const DEADLINE = Number(process.env.NODE_E2E_DEADLINE_MS || 240000);
const connection = { host: '127.0.0.1', port: PORT };
const closers = [];
function track(x, name) {
  if (x.on) x.on('error', (e) => console.log('%s error: %s', name, e && e.stack ? e.stack : e));
  closers.push(() => x.close());
  return x;
}

async function settle(q, want) {
  let counts;
  try {
    await waitFor(async () => {
      counts = await q.getJobCounts(...Object.keys(want));
      return Object.keys(want).every((k) => counts[k] === want[k]);
    }, DEADLINE, 'jobs to settle');
  } catch (e) {
    // report the counts reached, not just the time-out
  }
  eq(counts, want, 'job counts of ' + q.name);
  return counts;
}

async function mainQueue() {
  const q = track(new Queue('e2e-main', { connection }), 'queue');
  await q.obliterate({ force: true });
  const events = track(new QueueEvents('e2e-main', { connection }), 'queue events');
  await events.waitUntilReady();
  const evCompleted = new Set();
  const evFailed = [];
  events.on('completed', ({ jobId }) => evCompleted.add(jobId));
  events.on('failed', ({ jobId, failedReason }) => evFailed.push([jobId, failedReason]));
  const calls = new Map();
  const worker = track(new Worker('e2e-main', async (job) => {
    const key = job.name + ':' + job.data.n;
    calls.set(key, (calls.get(key) || 0) + 1);
    switch (job.name) {
      case 'plain':
        await job.updateProgress(50);
        await job.log('log line ' + job.data.n);
        return job.data.n * 2;
      case 'delayed':
        return 'late ' + job.data.n;
      case 'flaky':
        if (calls.get(key) < 3) throw new Error('flaky ' + job.data.n + ' attempt ' + calls.get(key));
        return 'recovered ' + job.data.n;
      case 'failing':
        throw new Error('boom ' + job.data.n);
      default:
        throw new Error('unknown job ' + job.name);
    }
  }, { connection, concurrency: 5 }), 'worker');
  await worker.waitUntilReady();
  const jobs = { plain: [], delayed: [], flaky: [], exhausted: [], failing: [] };
  jobs.plain = await q.addBulk(Array.from({ length: 100 }, (_, n) => ({ name: 'plain', data: { n } })));
  for (let n = 0; n < 10; n++) jobs.delayed.push(await q.add('delayed', { n }, { delay: 300 + 100 * n }));
  for (let n = 0; n < 10; n++) {
    const backoff = n < 5 ? { type: 'fixed', delay: 100 } : { type: 'exponential', delay: 50 };
    jobs.flaky.push(await q.add('flaky', { n }, { attempts: 4, backoff }));
  }
  for (let n = 0; n < 5; n++) {
    jobs.exhausted.push(await q.add('failing', { n }, { attempts: 2, backoff: { type: 'fixed', delay: 10 } }));
  }
  for (let n = 5; n < 10; n++) jobs.failing.push(await q.add('failing', { n }));
  const counts = await settle(q, { completed: 120, failed: 10, active: 0, wait: 0, delayed: 0, prioritized: 0 });
  for (const j of jobs.plain) {
    const job = await q.getJob(j.id);
    eq([job.returnvalue, job.progress, await job.getState()], [job.data.n * 2, 50, 'completed'], 'plain job ' + j.id);
    eq(calls.get('plain:' + job.data.n), 1, 'a plain job runs once');
  }
  const logs = await q.getJobLogs(jobs.plain[7].id);
  eq(logs.logs, ['log line 7']);
  for (const j of jobs.delayed) {
    const job = await q.getJob(j.id);
    eq(job.returnvalue, 'late ' + job.data.n);
    assert(job.processedOn >= job.timestamp + job.opts.delay,
      'delayed job ran ' + (job.processedOn - job.timestamp) + 'ms after it was added, before its delay ' + job.opts.delay);
  }
  for (const j of jobs.flaky) {
    const job = await q.getJob(j.id);
    eq([job.returnvalue, calls.get('flaky:' + job.data.n), job.attemptsMade, await job.getState()],
      ['recovered ' + job.data.n, 3, 3, 'completed'], 'retried job ' + j.id);
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
  // QueueEvents reads the events stream (XREAD BLOCK): every outcome arrives
  await waitFor(() => evCompleted.size >= 120 && evFailed.length >= 10, DEADLINE, 'queue events');
  eq(evCompleted.size, 120, 'completed events');
  eq(evFailed.length, 10, 'failed events (final failures only)');
  // waitUntilFinished, as request/response users do
  const one = await q.add('plain', { n: 500 });
  eq(await one.waitUntilFinished(events, DEADLINE), 1000);
  const bad = await q.add('failing', { n: 501 });
  await assert.rejects(bad.waitUntilFinished(events, DEADLINE), /boom 501/);
  // a failed job retried by hand
  const again = await q.getJob(jobs.failing[0].id);
  await again.retry();
  await settle(q, { completed: 121, failed: 11, active: 0, wait: 0 });
  eq(calls.get('failing:5'), 2, 'job.retry() ran the job again');
  eq((await q.getWorkers()).length >= 1, true, 'getWorkers (CLIENT LIST) finds the worker');
  const cleaned = await q.clean(0, 1000, 'completed');
  eq(cleaned.length, 121, 'clean(completed)');
  console.log('   jobs settled: %j', counts);
}

async function priorities() {
  const q = track(new Queue('e2e-prio', { connection }), 'queue');
  await q.obliterate({ force: true });
  const prios = Array.from({ length: 30 }, (_, n) => 1 + ((n * 7) % 3));
  for (let n = 0; n < 30; n++) await q.add('p', { n }, { priority: prios[n] });
  // every job waits before the worker starts: it takes them by priority
  // (1 is the highest), in insertion order within a priority
  const order = [];
  const worker = track(new Worker('e2e-prio', async (job) => {
    order.push(job.data.n);
  }, { connection, concurrency: 1, autorun: false }), 'worker');
  worker.run();
  await settle(q, { completed: 30, failed: 0, active: 0, wait: 0, prioritized: 0 });
  const want = prios.map((p, n) => [p, n]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[1]);
  eq(order, want, 'jobs ran in priority order');
}

async function flow() {
  const q = track(new Queue('e2e-flow', { connection }), 'queue');
  await q.obliterate({ force: true });
  const worker = track(new Worker('e2e-flow', async (job) => {
    if (job.name === 'child') return job.data.n * 10;
    const values = await job.getChildrenValues();
    return Object.values(values).reduce((a, b) => a + b, 0);
  }, { connection, concurrency: 3 }), 'worker');
  await worker.waitUntilReady();
  const producer = track(new FlowProducer({ connection }), 'flow producer');
  const tree = await producer.add({
    name: 'parent', queueName: 'e2e-flow', data: {},
    children: Array.from({ length: 5 }, (_, n) => ({ name: 'child', queueName: 'e2e-flow', data: { n } })),
  });
  await settle(q, { completed: 6, failed: 0, active: 0, wait: 0, 'waiting-children': 0 });
  const parent = await q.getJob(tree.job.id);
  eq(parent.returnvalue, 10 * (0 + 1 + 2 + 3 + 4), 'the parent job sums its children');
}

async function repeatable() {
  const q = track(new Queue('e2e-repeat', { connection }), 'queue');
  await q.obliterate({ force: true });
  let ticks = 0;
  const worker = track(new Worker('e2e-repeat', async () => { ticks += 1; }, { connection }), 'worker');
  await worker.waitUntilReady();
  await q.add('tick', {}, { repeat: { every: 200, limit: 3 } });
  await waitFor(() => ticks >= 3, DEADLINE, 'three repetitions');
  await settle(q, { completed: 3, failed: 0, active: 0 });
  eq(ticks, 3, 'a repeatable job with limit 3 runs three times');
}

async function extras() {
  const name = 'e2e-extras';
  const q = track(new Queue(name, { connection }), 'queue');
  await q.obliterate({ force: true });
  // deduplication: jobs with the same deduplication id are added once
  const d1 = await q.add('d', { n: 1 }, { deduplication: { id: 'same' } });
  const d2 = await q.add('d', { n: 2 }, { deduplication: { id: 'same' } });
  eq(d2.id, d1.id, 'a duplicate returns the first job');
  eq(await q.getDeduplicationJobId('same'), d1.id);
  // priorities: counts per priority, changePriority
  const p1 = await q.add('p', { n: 1 }, { priority: 5 });
  await q.add('p', { n: 2 }, { priority: 5 });
  await q.add('p', { n: 3 }, { priority: 9 });
  eq(await q.getCountsPerPriority([5, 9]), { 5: 2, 9: 1 });
  await p1.changePriority({ priority: 9 });
  eq(await q.getCountsPerPriority([5, 9]), { 5: 1, 9: 2 });
  // a delayed job promoted, and its delay changed
  const late = await q.add('late', {}, { delay: 3600 * 1000 });
  const later = await q.add('later', {}, { delay: 3600 * 1000 });
  eq(await late.getState(), 'delayed');
  await late.promote();
  eq(await late.getState(), 'waiting');
  await later.changeDelay(7200 * 1000);
  eq(await later.getState(), 'delayed');
  // remove, updateData, logs, getJobs
  const gone = await q.add('gone', {});
  await gone.remove();
  eq(await q.getJob(gone.id), undefined);
  await d1.updateData({ n: 100 });
  eq((await q.getJob(d1.id)).data, { n: 100 });
  eq((await q.getJobs(['waiting', 'prioritized', 'delayed'])).length, 6);
  eq(await q.count(), 6, 'waiting + prioritized + delayed');
  // drain removes waiting (and with true, delayed) jobs
  await q.drain(true);
  eq(await q.getJobCounts('wait', 'prioritized', 'delayed'), { wait: 0, prioritized: 0, delayed: 0 });
  // a worker processing by hand: getNextJob / moveToCompleted / moveToFailed
  const manual = track(new Worker(name, null, { connection }), 'manual worker');
  const m1 = await q.add('m', { n: 1 });
  const m2 = await q.add('m', { n: 2 });
  const job1 = await manual.getNextJob('token-1');
  eq(job1.id, m1.id);
  await job1.moveToCompleted('done by hand', 'token-1', false);
  const job2 = await manual.getNextJob('token-2');
  eq(job2.id, m2.id);
  await job2.moveToFailed(new Error('failed by hand'), 'token-2', false);
  eq([await (await q.getJob(m1.id)).getState(), (await q.getJob(m1.id)).returnvalue], ['completed', 'done by hand']);
  eq((await q.getJob(m2.id)).failedReason, 'failed by hand');
  await manual.close();
  await q.obliterate({ force: true });
  // a rate-limited worker with metrics, removeOnComplete/removeOnFail,
  // pause and resume
  const worker = track(new Worker(name, async (job) => {
    if (job.data.fail) throw new Error('no');
    await job.updateProgress(100);
    return job.data.n;
  }, { connection, concurrency: 4, limiter: { max: 10, duration: 200 }, metrics: { maxDataPoints: 60 },
    autorun: false }), 'limited worker');
  await q.addBulk(Array.from({ length: 40 }, (_, n) => ({ name: 'r', data: { n }, opts: { removeOnComplete: 5 } })));
  await q.addBulk(Array.from({ length: 5 }, (_, n) => ({ name: 'f', data: { n, fail: true }, opts: { removeOnFail: true } })));
  await q.pause();
  eq(await q.isPaused(), true);
  worker.run();
  eq((await q.getJobCounts('paused')).paused, 45, 'a paused queue keeps its jobs');
  await q.resume();
  await settle(q, { completed: 5, failed: 0, active: 0, wait: 0, paused: 0 });
  const metrics = await q.getMetrics('completed');
  eq(metrics.meta.count, 40, 'metrics count every completed job');
  // a job scheduler (repeat every 100 ms), removed after three runs
  let ticks = 0;
  const ticker = track(new Worker('e2e-sched', async () => { ticks += 1; }, { connection }), 'ticker');
  const sq = track(new Queue('e2e-sched', { connection }), 'queue');
  await sq.obliterate({ force: true });
  await sq.upsertJobScheduler('every-100ms', { every: 100 }, { name: 'tick', data: {} });
  eq((await sq.getJobSchedulers()).map((j) => j.key), ['every-100ms']);
  await waitFor(() => ticks >= 3, DEADLINE, 'three scheduled runs');
  eq(await sq.removeJobScheduler('every-100ms'), true);
  eq(await sq.getJobSchedulersCount(), 0);
  await ticker.close();
}

async function stalled() {
  const name = 'e2e-stall';
  const q = track(new Queue(name, { connection }), 'queue');
  await q.obliterate({ force: true });
  const job = await q.add('long', { n: 1 });
  // a worker in another process takes the job and is killed mid-job
  const child = spawn(process.execPath, [path.join(__dirname, 'bullmq_stall_worker.js'), String(PORT)],
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
  // another worker finds the job stalled (its lock expired) and runs it
  const stalledIds = [];
  const worker = track(new Worker(name, async (j) => 'recovered ' + j.data.n,
    { connection, lockDuration: 2000, stalledInterval: 500, maxStalledCount: 1 }), 'worker');
  worker.on('stalled', (id) => stalledIds.push(id));
  await settle(q, { completed: 1, failed: 0, active: 0, wait: 0 });
  const done = await q.getJob(job.id);
  eq(done.returnvalue, 'recovered 1');
  eq(stalledIds, [job.id], 'the worker reported the job stalled');
  eq(done.stalledCounter, 1, 'stalled counter');
}

runSections([
  ['bullmq queue: plain, delayed, retried and failing jobs, events', mainQueue],
  ['bullmq priorities', priorities],
  ['bullmq flow (parent and children)', flow],
  ['bullmq repeatable job', repeatable],
  ['bullmq extras: dedup, priorities, promote, drain, manual, limiter, metrics, schedulers', extras],
  ['bullmq worker killed mid-job, job recovered as stalled', stalled],
], async () => {
  for (const close of closers.reverse()) await close();
});
