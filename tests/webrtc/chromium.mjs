// Drives Debian's Chromium (headless, through playwright-core) on pistream's viewer page for
// the WebRTC tests: opens URL, waits until the page says what it plays (window.pistream.mode:
// "webrtc" or "mjpeg"), then for SECONDS reads the browser's own counters (getStats) every
// 100 ms, screenshots the picture to SHOT (PNG) and prints one JSON line:
// {"mode", "reason", "framesDecoded", "fps", "width", "height", "longestStallMs",
//  "freezeCount", "nackCount", "pliCount", "bytesReceived"}.
//
//   node chromium.mjs http://127.0.0.1:5678/ 10 /tmp/shot.png
import { chromium } from "playwright-core";

const [url, secondsText, shot] = process.argv.slice(2);
const seconds = Number(secondsText || 10);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
  await page.goto(url);
  await page.waitForFunction(() => ["webrtc", "mjpeg"].includes(window.pistream && window.pistream.mode), null, { timeout: 30000 });
  const mode = await page.evaluate(() => window.pistream.mode);
  const reason = await page.evaluate(() => window.pistream.reason);
  const read = () => page.evaluate(async () => {
    const pc = window.pistream.pc;
    if (!pc) return null;
    let out = null;
    (await pc.getStats()).forEach(r => {
      if (r.type === "inbound-rtp" && r.kind === "video") out = {
        framesDecoded: r.framesDecoded || 0, fps: r.framesPerSecond || 0, width: r.frameWidth || 0, height: r.frameHeight || 0,
        freezeCount: r.freezeCount || 0, nackCount: r.nackCount || 0, pliCount: r.pliCount || 0, bytesReceived: r.bytesReceived || 0,
      };
    });
    return out;
  });
  let first = null, last = null, lastChange = Date.now(), longestStallMs = 0;
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) {
    const s = await read();
    if (s) {
      if (!first) first = s;
      if (!last || s.framesDecoded !== last.framesDecoded) lastChange = Date.now();
      longestStallMs = Math.max(longestStallMs, Date.now() - lastChange);
      last = s;
    }
    await new Promise(r => setTimeout(r, 100));
  }
  const elapsed = (Date.now() - started) / 1000;
  if (shot) await page.locator(mode === "webrtc" ? "#video" : "#live").screenshot({ path: shot });
  const result = { mode, reason, longestStallMs };
  if (last) Object.assign(result, last, {
    framesInWindow: last.framesDecoded - first.framesDecoded,
    rateInWindow: (last.framesDecoded - first.framesDecoded) / elapsed,
  });
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
