// Drives the official OpenTok Node server SDK against an Otter server (see tests/opentok_sdks.rs).
// Line protocol: prints one JSON object per step on stdout; reads one JSON line from stdin when told.
'use strict';
const readline = require('readline');
const OpenTok = require('opentok');

const [apiUrl, apiKey, apiSecret] = process.argv.slice(2);
const ot = new OpenTok(apiKey, apiSecret, { apiUrl });
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const call = (fn, ...args) => new Promise((resolve, reject) =>
  fn(...args, (err, value) => (err ? reject(err) : resolve(value))));
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));

(async () => {
  const session = await call(ot.createSession.bind(ot), { mediaMode: 'routed' });
  const sessionId = session.sessionId;
  out({
    step: 'created',
    session_id: sessionId,
    jwt: ot.generateToken(sessionId, { role: 'moderator', data: 'sdk=node' }),
    legacy: ot.generateToken(sessionId, { role: 'publisher', data: 'sdk=node-legacy' }, true),
    // Short-lived: inside the window a REST credential may have (must still not pass as one).
    short: ot.generateToken(sessionId, { role: 'subscriber', expireTime: Math.floor(Date.now() / 1000) + 120 }),
  });
  const { connection_id: connectionId, stream_id: streamId } = JSON.parse(await nextLine());

  const streams = await call(ot.listStreams.bind(ot), sessionId);
  const one = await call(ot.getStream.bind(ot), sessionId, streamId);
  out({ step: 'streams', ids: streams.map((s) => s.id), names: streams.map((s) => s.name), one: one.id });
  await call(ot.signal, sessionId, null, { type: 'sdk', data: 'hello from node' });
  await call(ot.signal, sessionId, connectionId, { type: 'sdk', data: 'just you, from node' });
  await call(ot.forceMuteStream.bind(ot), sessionId, streamId);
  await call(ot.forceMuteAll.bind(ot), sessionId, { excludedStreamIds: [] });
  out({ step: 'signalled_and_muted' });
  await call(ot.forceDisconnect, sessionId, connectionId);
  let missing = null;
  try {
    await call(ot.forceDisconnect, sessionId, connectionId);
  } catch (e) {
    missing = e.message;
  }
  out({ step: 'disconnected', second_attempt_error: missing });

  let badAuth = null;
  try {
    const wrong = new OpenTok(apiKey, 'wrong-secret', { apiUrl });
    await call(wrong.listStreams.bind(wrong), sessionId);
  } catch (e) {
    badAuth = e.name || e.message;
  }
  out({ step: 'done', bad_auth_error: badAuth });
  lines.close();
})().catch((e) => {
  out({ step: 'failed', error: String(e && e.stack || e) });
  process.exit(1);
});
