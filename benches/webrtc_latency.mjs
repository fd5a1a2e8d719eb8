// Capture-to-displayed latency in Chromium, WebRTC and MJPEG side by side (run by
// benches/webrtc_bench.py): opens pistream's viewer page (URL: "/" plays WebRTC, "/?mjpeg"
// MJPEG), and for every picture displayed reads the frame number the fake rpicam-vid
// stamped into it (32 8x8 blocks in rows 8..16, a bit each in green) off a canvas: on
// requestVideoFrameCallback for the video, on each animation frame for the MJPEG image.
// Prints one JSON line: {"mode", "samples": [[displayed_ms_since_epoch, stamp], ...],
// "bytes": bytes received in the window (WebRTC: getStats), "seconds"}.
//
//   node webrtc_latency.mjs URL WARMUP_S WINDOW_S
import { chromium } from "playwright-core";

const [url, warmup, window] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await page.waitForFunction(() => ["webrtc", "mjpeg"].includes(window.pistream && window.pistream.mode), null, { timeout: 30000 });
  await page.waitForTimeout(warmup * 1000);
  const result = await page.evaluate(async (seconds) => {
    const mode = window.pistream.mode;
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const samples = [];
    const stampOf = (source, width) => {
      canvas.width = width; canvas.height = 16;
      context.drawImage(source, 0, 0, width, 16, 0, 0, width, 16);
      const row = context.getImageData(0, 12, 32 * 8, 1).data;
      let stamp = 0;
      for (let bit = 0; bit < 32; bit++) if (row[(bit * 8 + 4) * 4 + 1] > 128) stamp += 2 ** bit;
      return stamp;
    };
    const bytes = async () => {
      let b = 0;
      if (window.pistream.pc) (await window.pistream.pc.getStats()).forEach(r => { if (r.type === "inbound-rtp" && r.kind === "video") b = r.bytesReceived; });
      return b;
    };
    const startBytes = await bytes();
    const end = performance.now() + seconds * 1000;
    await new Promise(done => {
      if (mode === "webrtc") {
        const video = document.getElementById("video");
        const onFrame = (now, meta) => {
          samples.push([performance.timeOrigin + meta.expectedDisplayTime, stampOf(video, meta.width)]);
          if (performance.now() < end) video.requestVideoFrameCallback(onFrame); else done();
        };
        video.requestVideoFrameCallback(onFrame);
      } else {
        const img = document.getElementById("live");
        let last = -1;
        const onFrame = now => {
          if (img.naturalWidth) {
            const stamp = stampOf(img, img.naturalWidth);
            if (stamp !== last) { samples.push([performance.timeOrigin + now, stamp]); last = stamp; }
          }
          if (performance.now() < end) requestAnimationFrame(onFrame); else done();
        };
        requestAnimationFrame(onFrame);
      }
    });
    return { mode, samples, bytes: (await bytes()) - startBytes, seconds };
  }, window);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
