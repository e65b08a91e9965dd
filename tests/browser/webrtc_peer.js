// Test-only: Chromium as a WHIP publisher or a WHEP player against an Otter server (tests/browser_interop.rs).
// Usage: node webrtc_peer.js whip|whep SERVER_URL ENDPOINT_PATH TOKEN SECONDS
// Prints JSON lines: {"event":"ready",...} once media is negotiated, then {"event":"stats",...} at the end.
'use strict';
const { chromium } = require('playwright-core');

const [mode, server, endpoint, token, seconds] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      // 30 frames a second, as the Otter publishers it is compared with send (the fake camera's default is 20).
      '--use-fake-device-for-media-stream=fps=30', '--use-fake-ui-for-media-stream',
      // The server's candidate is on loopback in tests; Chromium leaves loopback out unless told.
      '--allow-loopback-in-peer-connection',
      // A server on a LAN address (the network benchmark's namespace link) is not a secure context, and
      // getUserMedia needs one.
      '--unsafely-treat-insecure-origin-as-secure=' + server,
    ],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => process.stderr.write(`[page] ${m.text()}\n`));
    // Same origin as the endpoints, so no CORS is involved in the test itself.
    await page.goto(server + '/healthz');
    const ready = await page.evaluate(async ({ mode, endpoint, token }) => {
      const pc = new RTCPeerConnection();
      window.pc = pc;
      if (mode === 'whip') {
        const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
        for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
      } else {
        pc.addTransceiver('audio', { direction: 'recvonly' });
        pc.addTransceiver('video', { direction: 'recvonly' });
      }
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      });
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + token },
        body: pc.localDescription.sdp,
      });
      if (response.status !== 201) return { status: response.status, error: await response.text() };
      await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
      await new Promise((resolve, reject) => {
        const check = () => {
          if (pc.connectionState === 'connected') resolve();
          if (pc.connectionState === 'failed') reject(new Error('ICE/DTLS failed'));
        };
        pc.addEventListener('connectionstatechange', check);
        check();
      });
      return { status: 201, location: response.headers.get('Location') };
    }, { mode, endpoint, token });
    out({ event: 'ready', ...ready });
    if (ready.status !== 201) process.exit(1);
    await page.waitForTimeout(Number(seconds) * 1000);
    const stats = await page.evaluate(async () => {
      const report = await window.pc.getStats();
      const result = { frames_decoded: 0, frames_sent: 0, audio_packets_received: 0, audio_packets_sent: 0, width: 0, height: 0 };
      report.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          result.frames_decoded = s.framesDecoded || 0;
          result.width = s.frameWidth || 0;
          result.height = s.frameHeight || 0;
        }
        if (s.type === 'inbound-rtp' && s.kind === 'audio') result.audio_packets_received = s.packetsReceived || 0;
        if (s.type === 'outbound-rtp' && s.kind === 'video') result.frames_sent = s.framesSent || 0;
        if (s.type === 'outbound-rtp' && s.kind === 'audio') result.audio_packets_sent = s.packetsSent || 0;
      });
      return result;
    });
    out({ event: 'stats', ...stats });
  } finally {
    await browser.close();
  }
})().catch((e) => {
  out({ event: 'failed', error: String(e && e.stack || e) });
  process.exit(1);
});
