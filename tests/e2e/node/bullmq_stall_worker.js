// bullmq_stall_worker.js PORT - a BullMQ worker that takes one job from
// queue e2e-stall, prints 'STARTED <id>' and never finishes it: bullmq.js
// kills this process with SIGKILL and checks that the job is recovered.
'use strict';
const { Worker } = require('bullmq');

const PORT = Number(process.argv[2]);
const worker = new Worker('e2e-stall', async (job) => {
  console.log('STARTED ' + job.id);
  await new Promise(() => {}); // forever
}, { connection: { host: '127.0.0.1', port: PORT }, lockDuration: 2000, stalledInterval: 500, concurrency: 1 });
worker.on('error', (e) => console.error('stall worker error: %s', e));
