// clients.js PORT - ioredis and node-redis (v4) used as applications use
// them, against a dredis-server on 127.0.0.1:PORT: basic commands of every
// type, pipelines, MULTI/EXEC (with WATCH), pub/sub, Lua, scanning and
// blocking pops.
'use strict';
const IORedis = require('ioredis');
const nodeRedis = require('redis');
const { PORT, eq, assert, waitFor, runSections } = require('./lib');

const opened = [];
function io(opts) {
  const c = new IORedis({ host: '127.0.0.1', port: PORT, maxRetriesPerRequest: 3, ...opts });
  opened.push(() => c.disconnect());
  return c;
}
async function nr(opts) {
  const c = nodeRedis.createClient({ socket: { host: '127.0.0.1', port: PORT, reconnectStrategy: false }, ...opts });
  c.on('error', (e) => console.log('node-redis error event: %s', e));
  await c.connect();
  opened.push(() => c.quit().catch(() => {}));
  return c;
}
const plain = (o) => Object.assign({}, o);

async function ioBasics() {
  const r = io();
  await r.flushall();
  eq(await r.ping(), 'PONG');
  eq(await r.set('s', 'v'), 'OK');
  eq(await r.get('s'), 'v');
  eq(await r.get('nosuch'), null);
  eq(await r.set('s', 'w', 'NX'), null);
  eq(await r.set('ex', 'v', 'EX', 100), 'OK');
  assert((await r.ttl('ex')) > 0);
  eq(await r.incr('n'), 1);
  eq(await r.incrby('n', 9), 10);
  eq(await r.incrbyfloat('n', '0.5'), '10.5');
  eq(await r.mset({ a: '1', b: '2' }), 'OK');
  eq(await r.mget('a', 'b', 'nosuch'), ['1', '2', null]);
  const bin = Buffer.from([0, 255, 13, 10, 1]);
  await r.set('bin', bin);
  eq(Buffer.compare(await r.getBuffer('bin'), bin), 0);
  eq(await r.hset('h', { f1: 'v1', f2: 'v2' }), 2);
  eq(await r.hgetall('h'), { f1: 'v1', f2: 'v2' });
  eq(await r.hincrby('h', 'c', 3), 3);
  eq(await r.hdel('h', 'f1'), 1);
  eq(await r.rpush('l', 'a', 'b', 'c'), 3);
  eq(await r.lrange('l', 0, -1), ['a', 'b', 'c']);
  eq(await r.lpop('l'), 'a');
  eq(await r.lmove('l', 'l2', 'RIGHT', 'LEFT'), 'c');
  eq(await r.sadd('set', 'x', 'y', 'z'), 3);
  eq((await r.smembers('set')).sort(), ['x', 'y', 'z']);
  eq(await r.sismember('set', 'y'), 1);
  eq(await r.zadd('z', 1, 'one', 2, 'two', 3, 'three'), 3);
  eq(await r.zrange('z', 0, -1, 'WITHSCORES'), ['one', '1', 'two', '2', 'three', '3']);
  eq(await r.zrangebyscore('z', '(1', '+inf'), ['two', 'three']);
  eq(await r.zscore('z', 'two'), '2');
  eq(await r.zpopmin('z'), ['one', '1']);
  eq(await r.type('z'), 'zset');
  eq(await r.exists('s', 'h', 'nosuch'), 2);
  eq(await r.del('s', 'h'), 2);
  await assert.rejects(r.lpush('n', 'x'), /WRONGTYPE/);
  await assert.rejects(r.call('NOSUCHCOMMAND'), /unknown command/);
  const info = await r.info('server');
  assert(/redis_version:7\./.test(info), info);
  eq(await r.client('SETNAME', 'io-smoke'), 'OK');
  eq(await r.client('GETNAME'), 'io-smoke');
  // a database other than 0, chosen at connect time
  const r5 = io({ db: 5 });
  await r5.set('in5', 'x');
  eq(await r.exists('in5'), 0);
  eq(await r5.get('in5'), 'x');
}

async function ioPipelineMulti() {
  const r = io();
  const res = await r.pipeline().set('p', '1').incr('p').get('p').lpush('p', 'x').hset('ph', 'f', 'v').exec();
  eq(res.slice(0, 3), [[null, 'OK'], [null, 2], [null, '2']]);
  assert(res[3][0] && /WRONGTYPE/.test(res[3][0].message), String(res[3][0]));
  eq(res[4], [null, 1]);
  const pipe = r.pipeline();
  for (let i = 0; i < 2000; i++) pipe.rpush('plong', String(i));
  const many = await pipe.exec();
  eq(many[1999], [null, 2000]);
  eq(await r.multi().set('m', 'a').append('m', 'b').get('m').exec(), [[null, 'OK'], [null, 2], [null, 'ab']]);
  // a command that fails inside EXEC: the others still run
  const mixed = await r.multi().set('m2', 'str').incr('m2').set('m3', 'after').exec();
  assert(mixed[1][0] && /not an integer/.test(mixed[1][0].message));
  eq(await r.get('m3'), 'after');
  // an error while queuing aborts the transaction (EXECABORT)
  await assert.rejects(r.multi().set('m4', 'x').call('NOSUCHCOMMAND').exec(), /EXECABORT|unknown command/);
  eq(await r.exists('m4'), 0);
  // WATCH: a change by another client makes EXEC return null
  const w = io();
  const other = io();
  await w.set('acct', '100');
  await w.watch('acct');
  const bal = Number(await w.get('acct'));
  await other.incr('acct');
  eq(await w.multi().set('acct', String(bal - 10)).exec(), null);
  eq(await w.get('acct'), '101');
  await w.watch('acct');
  eq(await w.multi().set('acct', '0').exec(), [[null, 'OK']]);
}

async function ioPubSub() {
  const sub = io();
  const pub = io();
  const got = [];
  sub.on('message', (ch, msg) => got.push(['message', ch, msg]));
  sub.on('pmessage', (pat, ch, msg) => got.push(['pmessage', pat, ch, msg]));
  eq(await sub.subscribe('news', 'sport'), 2);
  eq(await sub.psubscribe('wea*'), 3);
  eq(await pub.publish('news', 'hello'), 1);
  eq(await pub.publish('weather', 'rain'), 1);
  eq(await pub.publish('nobody', 'x'), 0);
  for (let i = 0; i < 100; i++) pub.publish('sport', 'goal ' + i);
  await waitFor(() => got.length >= 102, 30000, 'pub/sub messages');
  eq(got.slice(0, 2), [['message', 'news', 'hello'], ['pmessage', 'wea*', 'weather', 'rain']]);
  eq(got.slice(2).map((m) => m[2]), Array.from({ length: 100 }, (_, i) => 'goal ' + i));
  eq(await pub.pubsub('NUMSUB', 'news'), ['news', 1]);
  // (ioredis resolves an UNSUBSCRIBE without arguments only once nothing at
  // all is left subscribed, patterns included: name the channels)
  eq(await sub.unsubscribe('news', 'sport'), 1);
  eq(await sub.punsubscribe(), 0);
  eq(await sub.ping(), 'PONG'); // back to normal commands
}

async function ioScriptsScanBlocking() {
  const r = io();
  r.defineCommand('addAndLog', {
    numberOfKeys: 2,
    lua: "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) redis.call('RPUSH', KEYS[2], v) return {v, redis.call('LLEN', KEYS[2])}",
  });
  eq(await r.addAndLog('lua:n', 'lua:l', 5), [5, 1]);
  await r.script('FLUSH');
  eq(await r.addAndLog('lua:n', 'lua:l', 2), [7, 2]); // EVALSHA, NOSCRIPT, then EVAL
  eq(await r.pipeline().addAndLog('lua:n', 'lua:l', 1).exec(), [[null, [8, 3]]]);
  eq(await r.eval("return redis.call('GET', KEYS[1])", 1, 'lua:n'), '8');
  const pipe = r.pipeline();
  for (let i = 0; i < 500; i++) pipe.set('scan:' + i, i);
  await pipe.exec();
  const keys = new Set();
  await new Promise((resolve, reject) => {
    const s = r.scanStream({ match: 'scan:*', count: 50 });
    s.on('data', (batch) => batch.forEach((k) => keys.add(k)));
    s.on('end', resolve);
    s.on('error', reject);
  });
  eq(keys.size, 500);
  const hk = [];
  await r.hset('hs', Object.fromEntries(Array.from({ length: 200 }, (_, i) => ['f' + i, String(i)])));
  await new Promise((resolve, reject) => {
    const s = r.hscanStream('hs', { count: 20 });
    s.on('data', (b) => hk.push(...b));
    s.on('end', resolve);
    s.on('error', reject);
  });
  eq(hk.length, 400);
  // blocking pops: timeout, then woken by another client
  const b = io();
  eq(await b.blpop('bl:empty', 1), null);
  const popped = b.blpop('bl:q', 60);
  const other = io();
  await waitFor(async () => /cmd=blpop/.test(await other.client('LIST')), 30000, 'client blocked in BLPOP');
  await other.rpush('bl:q', 'wake');
  eq(await popped, ['bl:q', 'wake']);
  const z = b.bzpopmin('bl:z', 60);
  await waitFor(async () => /cmd=bzpopmin/.test(await other.client('LIST')), 30000, 'client blocked in BZPOPMIN');
  await other.zadd('bl:z', 4, 'm');
  eq(await z, ['bl:z', 'm', '4']);
}

async function nrBasics() {
  const c = await nr();
  eq(await c.ping(), 'PONG');
  eq(await c.set('nr:s', 'v'), 'OK');
  eq(await c.get('nr:s'), 'v');
  eq(await c.set('nr:s', 'w', { NX: true }), null);
  eq(await c.set('nr:e', 'v', { EX: 100 }), 'OK');
  assert((await c.ttl('nr:e')) > 0);
  eq(await c.incrBy('nr:n', 5), 5);
  eq(await c.hSet('nr:h', { a: '1', b: '2' }), 2);
  eq(plain(await c.hGetAll('nr:h')), { a: '1', b: '2' });
  eq(await c.hGet('nr:h', 'a'), '1');
  eq(await c.rPush('nr:l', ['x', 'y', 'z']), 3);
  eq(await c.lRange('nr:l', 0, -1), ['x', 'y', 'z']);
  eq(await c.lPopCount('nr:l', 2), ['x', 'y']);
  eq(await c.sAdd('nr:set', ['a', 'b']), 2);
  eq((await c.sMembers('nr:set')).sort(), ['a', 'b']);
  eq(await c.zAdd('nr:z', [{ score: 2, value: 'b' }, { score: 1, value: 'a' }]), 2);
  eq(await c.zRangeWithScores('nr:z', 0, -1), [{ value: 'a', score: 1 }, { value: 'b', score: 2 }]);
  eq(await c.zRange('nr:z', 0, 1, { REV: true }), ['b', 'a']);
  eq(await c.zScore('nr:z', 'b'), 2);
  eq(await c.sendCommand(['ECHO', 'raw']), 'raw');
  eq(await c.exists(['nr:s', 'nr:h', 'nosuch']), 2);
  await assert.rejects(c.lPush('nr:s', 'x'), /WRONGTYPE/);
  const keys = [];
  for await (const k of c.scanIterator({ MATCH: 'nr:*', COUNT: 2 })) keys.push(k);
  eq(keys.sort(), ['nr:e', 'nr:h', 'nr:l', 'nr:n', 'nr:s', 'nr:set', 'nr:z']);
  const fields = [];
  for await (const f of c.hScanIterator('nr:h')) fields.push(f.field + '=' + f.value);
  eq(fields.sort(), ['a=1', 'b=2']);
  assert(/redis_version:7\./.test(await c.info('server')));
}

async function nrMultiWatch() {
  const c = await nr();
  eq(await c.multi().set('nr:m', '1').incr('nr:m').get('nr:m').exec(), ['OK', 2, '2']);
  eq(await c.multi().set('nr:m2', 'x').get('nr:m2').execAsPipeline(), ['OK', 'x']);
  // WATCH on an isolated connection; another client's write aborts EXEC
  const other = await nr();
  await c.set('nr:acct', '100');
  await assert.rejects(
    c.executeIsolated(async (iso) => {
      await iso.watch('nr:acct');
      const bal = Number(await iso.get('nr:acct'));
      await other.incr('nr:acct');
      return iso.multi().set('nr:acct', String(bal - 10)).exec();
    }),
    (e) => e instanceof nodeRedis.WatchError,
  );
  eq(await c.get('nr:acct'), '101');
  const ok = await c.executeIsolated(async (iso) => {
    await iso.watch('nr:acct');
    const bal = Number(await iso.get('nr:acct'));
    return iso.multi().set('nr:acct', String(bal - 1)).exec();
  });
  eq(ok, ['OK']);
  eq(await c.get('nr:acct'), '100');
  // a pipeline: many commands sent together
  const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.rPush('nr:pl', String(i))));
  eq(replies[999], 1000);
  // a blocking pop on an isolated connection, woken by another client
  const popped = c.blPop(nodeRedis.commandOptions({ isolated: true }), 'nr:bq', 60);
  await waitFor(async () => /cmd=blpop/.test(await other.clientList().then((l) => l.map((x) => 'cmd=' + x.cmd).join(' '))),
    30000, 'client blocked in BLPOP');
  await other.rPush('nr:bq', 'wake');
  eq(plain(await popped), { key: 'nr:bq', element: 'wake' });
}

async function nrPubSubScripts() {
  const c = await nr({
    scripts: {
      incrTwice: nodeRedis.defineScript({
        NUMBER_OF_KEYS: 1,
        SCRIPT: "redis.call('INCRBY', KEYS[1], ARGV[1]) return redis.call('INCRBY', KEYS[1], ARGV[1])",
        transformArguments: (key, n) => [key, String(n)],
        transformReply: (r) => r,
      }),
    },
  });
  eq(await c.incrTwice('nr:lua', 3), 6);
  await c.scriptFlush();
  eq(await c.incrTwice('nr:lua', 1), 8); // NOSCRIPT, then EVAL
  const sub = c.duplicate();
  await sub.connect();
  opened.push(() => sub.quit().catch(() => {}));
  const got = [];
  await sub.subscribe('nr:ch', (msg, ch) => got.push([ch, msg]));
  await sub.pSubscribe('nr:p*', (msg, ch) => got.push(['p', ch, msg]));
  eq(await c.publish('nr:ch', 'one'), 1);
  eq(await c.publish('nr:pat', 'two'), 1);
  await waitFor(() => got.length >= 2, 30000, 'node-redis messages');
  eq(got, [['nr:ch', 'one'], ['p', 'nr:pat', 'two']]);
  await sub.unsubscribe('nr:ch');
  await sub.pUnsubscribe();
  eq(await sub.ping(), 'PONG');
  console.log('skip resp3: ioredis 5 and node-redis 4 speak RESP2 only');
}

runSections([
  ['ioredis basics', ioBasics],
  ['ioredis pipeline and multi', ioPipelineMulti],
  ['ioredis pubsub', ioPubSub],
  ['ioredis scripts, scan, blocking', ioScriptsScanBlocking],
  ['node-redis basics', nrBasics],
  ['node-redis multi and watch', nrMultiWatch],
  ['node-redis pubsub and scripts', nrPubSubScripts],
], async () => {
  for (const close of opened) await close();
});
