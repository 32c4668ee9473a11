// bull_stall_worker.js PORT - a Bull worker that takes one job from queue
// e2e-stall, prints 'STARTED <id>' and never finishes it: bull.js kills
// this process with SIGKILL and checks that the job is recovered.
'use strict';
const Queue = require('bull');

const PORT = Number(process.argv[2]);
const q = new Queue('e2e-stall', {
  redis: { host: '127.0.0.1', port: PORT },
  settings: { lockDuration: 2000, stalledInterval: 500, maxStalledCount: 1 },
});
q.on('error', (e) => console.error('stall worker error: %s', e));
q.process(async (job) => {
  console.log('STARTED ' + job.id);
  await new Promise(() => {}); // forever
});
