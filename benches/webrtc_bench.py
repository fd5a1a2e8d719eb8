#!/usr/bin/python3
"""WebRTC against MJPEG in Chromium, run by scripts/bench-webrtc: pistream camera on the
fake rpicam-vid (each frame stamped with its number, 30 fps), its viewer page in headless
Chromium playing WebRTC ("/") and MJPEG ("/?mjpeg") one after the other, at 640x480 and
1280x720. For each: the latency from a frame being due at the camera to its picture being
displayed (read back from the stamp, benches/webrtc_latency.mjs), p50 and p99, and the bits
per second the browser received (WebRTC: getStats; MJPEG: the camera's count for its
viewer).

    webrtc_bench.py PISTREAM FAKE_RPICAM_VID NODE_DIR
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

PISTREAM, FAKE, NODE_DIR = (os.path.abspath(a) for a in sys.argv[1:4])
FPS = 30
WARMUP = float(os.environ.get("BENCH_WEBRTC_WARMUP", "3"))
WINDOW = float(os.environ.get("BENCH_WEBRTC_WINDOW", "10"))
# BENCH_WEBRTC_SIZES=640x480,1280x720 (the default): the sizes measured.
SIZES = [tuple(int(n) for n in size.split("x"))
         for size in os.environ.get("BENCH_WEBRTC_SIZES", "640x480,1280x720").split(",")]
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(width, height, mode):
    work = tempfile.mkdtemp(prefix="pistream-bench-webrtc-")
    epoch_file = os.path.join(work, "epoch")
    os.symlink(FAKE, os.path.join(work, "rpicam-vid"))
    env = dict(os.environ, FAKE_RPICAM_EPOCH=epoch_file, FAKE_RPICAM_ISP="pi4", PATH=work + ":" + os.environ["PATH"])
    port = free_port()
    camera = subprocess.Popen(
        [PISTREAM, "camera", "--source", "rpicam", "--size", f"{width}x{height}", "--fps", str(FPS),
         "--listen", f"127.0.0.1:{port}", "--stats", "off", "-q"],
        env=env, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    # The camera's count of bytes sent to its HTTP viewer (the page's MJPEG), followed
    # while the browser runs.
    last_http = {}
    stop = threading.Event()

    def follow():
        while not stop.is_set():
            try:
                state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/state", timeout=2))
                viewers = [v for v in state["viewers"] if v["kind"] == "http"]
                if viewers:
                    last_http.update(viewers[0])
            except OSError:
                pass
            time.sleep(0.5)

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    shutil.copy(os.path.join(HERE, "webrtc_latency.mjs"), os.path.join(NODE_DIR, "webrtc_latency.mjs"))
    url = f"http://127.0.0.1:{port}/" + ("?mjpeg" if mode == "mjpeg" else "")
    out = subprocess.run(["node", os.path.join(NODE_DIR, "webrtc_latency.mjs"), url, str(WARMUP), str(WINDOW)],
                         capture_output=True, text=True, timeout=WARMUP + WINDOW + 90)
    stop.set()
    camera.terminate()
    camera.wait()
    try:
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        print(f"webrtc_bench: {mode} {width}x{height}: no result: {out.stdout}{out.stderr}", file=sys.stderr)
        return None
    epoch_ms = int(open(epoch_file).read()) / 1000
    latencies = sorted(shown - (epoch_ms + stamp * 1000 / FPS) for shown, stamp in result["samples"])
    if mode == "webrtc":
        bits = result["bytes"] * 8 / result["seconds"]
    else:
        bits = last_http.get("sent_mbit", 0) * 1e6 / max(last_http.get("seconds", 1), 1e-3)
    return {
        "mode": result["mode"],
        "fps": len(latencies) / result["seconds"],
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "mbit": bits / 1e6,
    }


def main():
    print("| size | page plays | pictures displayed/s | latency p50 / p99 | received |")
    print("| --- | --- | ---: | ---: | ---: |")
    rows = []
    failed = False
    for width, height in SIZES:
        results = {}
        for mode in ("mjpeg", "webrtc"):
            r = run(width, height, mode)
            if r is None or r["mode"] != mode:
                if r is not None:
                    print(f"webrtc_bench: {width}x{height}: asked for {mode}, the page played {r['mode']} "
                          f"(does `{os.path.basename(PISTREAM)} --version` list webrtc?)", file=sys.stderr)
                failed = True
                continue
            results[mode] = r
            print(f"| {width}x{height} | {'WebRTC (H.264)' if mode == 'webrtc' else 'MJPEG'} | {r['fps']:.1f} | "
                  f"{r['p50']:.0f} / {r['p99']:.0f} ms | {r['mbit']:.2f} Mbit/s |", flush=True)
        rows.append((width, height, results))
    print()
    for width, height, results in rows:
        if len(results) == 2:
            w, m = results["webrtc"], results["mjpeg"]
            print(f"{width}x{height}: WebRTC latency p50 {w['p50'] - m['p50']:+.0f} ms against MJPEG's, "
                  f"at {w['mbit'] / m['mbit']:.2f} of its bits per second")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
