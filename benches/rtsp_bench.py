#!/usr/bin/python3
"""pistream's RTSP against GStreamer's RTSP server (gst-rtsp-server), run by
scripts/bench-rtsp: the same frames (the fake rpicam-vid's 640x480 I420 at 30 fps, each
stamped with its number), the same encoder (OpenH264, 0.92 Mbit/s, a keyframe a second,
Constrained Baseline), to 1 and to 8 ffmpeg clients over RTSP/TCP. For each server and
client count it prints the frames/s delivered to all clients together, the server's CPU
time per delivered frame, and the latency from a frame being due at the camera to its
picture decoded at an `ffmpeg -fflags nobuffer -flags low_delay` client (read back from
the number stamped in it).

    rtsp_bench.py PISTREAM FAKE_RPICAM_VID
"""
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

PISTREAM, FAKE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
W, H, FPS = 640, 480, 30
BITRATE, GOP = 921_600, 30
WARMUP = float(os.environ.get("BENCH_RTSP_WARMUP", "4"))
WINDOW = float(os.environ.get("BENCH_RTSP_WINDOW", "12"))
HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def free_port():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stamp_of(frame):
    """The number the fake stamped into a picture (32 8x8 blocks in rows 8..16)."""
    green = frame[12, 4 : 32 * 8 : 8, 1]
    return int(sum(1 << bit for bit, g in enumerate(green) if g > 128))


class Counter(threading.Thread):
    """An ffmpeg client decoding to nowhere; `frames` follows its -progress output."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.frames = 0
        self.proc = subprocess.Popen(
            ["ffmpeg", "-v", "error", "-nostats", "-progress", "pipe:1", "-rtsp_transport", "tcp",
             "-i", url, "-f", "null", "-"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.start()

    def run(self):
        for line in self.proc.stdout:
            if line.startswith("frame="):
                self.frames = int(line.split("=")[1])


class Measurer(threading.Thread):
    """The low-delay ffmpeg client: every decoded picture's arrival and stamp."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.samples = []  # (arrival, stamp)
        self.proc = subprocess.Popen(
            ["ffmpeg", "-v", "error", "-fflags", "nobuffer", "-flags", "low_delay", "-rtsp_transport", "tcp",
             "-i", url, "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.start()

    def run(self):
        size = W * H * 3
        while True:
            data = self.proc.stdout.read(size)
            if len(data) < size:
                return
            arrival = time.time()
            frame = np.frombuffer(data, dtype=np.uint8).reshape(H, W, 3)
            self.samples.append((arrival, stamp_of(frame)))

    @property
    def frames(self):
        return len(self.samples)


def run(server, clients):
    work = tempfile.mkdtemp(prefix="pistream-bench-rtsp-")
    epoch_file = os.path.join(work, "epoch")
    port = free_port()
    env = dict(os.environ, FAKE_RPICAM_EPOCH=epoch_file, FAKE_RPICAM_ISP="pi4")
    fake = None
    if server == "pistream":
        os.symlink(FAKE, os.path.join(work, "rpicam-vid"))
        env["PATH"] = work + ":" + env["PATH"]
        proc = subprocess.Popen(
            [PISTREAM, "camera", "--source", "rpicam", "--size", f"{W}x{H}", "--fps", str(FPS),
             "--listen", f"127.0.0.1:{port}", "--h264-bitrate", str(BITRATE), "--keyframe-interval", str(GOP),
             "--max-viewers", "16", "--stats", "off", "-q"],
            env=env, stderr=subprocess.DEVNULL)
    else:
        # The fake writes into a FIFO, which blocks it until GStreamer's pipeline opens it:
        # its frames are due from when GStreamer reads them, as pistream's are.
        fifo = os.path.join(work, "frames")
        os.mkfifo(fifo)
        fake = subprocess.Popen(
            f'exec "{FAKE}" --codec yuv420 -o - --width {W} --height {H} --framerate {FPS} > "{fifo}"',
            shell=True, env=env, stderr=subprocess.DEVNULL)
        proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "rtsp_gst_server.py"), str(port), str(W), str(H), str(FPS),
             str(BITRATE), str(GOP), fifo],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    url = f"rtsp://127.0.0.1:{port}/stream"
    measurer = Measurer(url)
    counters = [Counter(url) for _ in range(clients - 1)]
    time.sleep(WARMUP)
    start_frames = [measurer.frames] + [c.frames for c in counters]
    start_cpu, start = cpu_seconds(proc.pid), time.time()
    first_sample = len(measurer.samples)
    time.sleep(WINDOW)
    elapsed = time.time() - start
    cpu = cpu_seconds(proc.pid) - start_cpu
    end_frames = [measurer.frames] + [c.frames for c in counters]
    samples = measurer.samples[first_sample:]
    delivered = sum(e - s for e, s in zip(end_frames, start_frames))
    epoch = int(open(epoch_file).read()) / 1e6
    latencies = sorted((arrival - (epoch + stamp / FPS)) * 1000 for arrival, stamp in samples)
    for p in [measurer.proc] + [c.proc for c in counters]:
        p.kill()
    # pistream stops its rpicam-vid as it exits; GStreamer's is the fake started here.
    proc.terminate()
    proc.wait()
    if fake is not None:
        fake.kill()
        fake.wait()
    per_client = delivered / elapsed / clients
    return {
        "fps": delivered / elapsed,
        "per_client": per_client,
        "cpu_ms": cpu * 1000 / max(delivered, 1),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
    }


ROUNDS = int(os.environ.get("BENCH_RTSP_ROUNDS", "3"))


def median_run(runs):
    """Each figure's median over the rounds (the encoder's cost varies by some 10 % from
    run to run, more than what a client adds)."""
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main():
    rows = []
    for clients in (1, 8):
        runs = {"gstreamer": [], "pistream": []}
        for _ in range(ROUNDS):
            for server in ("gstreamer", "pistream"):
                runs[server].append(run(server, clients))
        rows.append((clients, {server: median_run(r) for server, r in runs.items()}))
    print("| clients | server | delivered frames/s (per client) | server CPU per delivered frame | latency p50 / p99 |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for clients, results in rows:
        for server in ("gstreamer", "pistream"):
            r = results[server]
            name = "GStreamer gst-rtsp-server" if server == "gstreamer" else "pistream"
            print(f"| {clients} | {name} | {r['fps']:.1f} ({r['per_client']:.1f}) | {r['cpu_ms']:.3f} ms | "
                  f"{r['p50']:.0f} / {r['p99']:.0f} ms |")
    print()
    short = [(c, s, r["per_client"]) for c, res in rows for s, r in res.items() if r["per_client"] < 0.8 * FPS]
    for clients, server, fps in short:
        print(f"rtsp_bench: {server} delivered {fps:.1f} frames/s to each of {clients} client(s), under 80 % of {FPS}")
    for clients, results in rows:
        g, p = results["gstreamer"], results["pistream"]
        print(f"{clients} client(s): pistream/GStreamer CPU per delivered frame {p['cpu_ms'] / g['cpu_ms']:.2f}, "
              f"latency p50 {p['p50'] - g['p50']:+.0f} ms, p99 {p['p99'] - g['p99']:+.0f} ms")
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
