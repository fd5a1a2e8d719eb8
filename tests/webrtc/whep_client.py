#!/usr/bin/env python3
"""A WHEP client on aiortc, an independent WebRTC implementation, for pistream's tests.

Posts a recvonly H.264 video offer to URL (pistream's /whep), plays the answer's stream for
--seconds, decodes every frame with PyAV (aiortc's decoder) and prints one JSON line:
{"status": 201, "location": "/whep/...", "frames": N, "width": W, "height": H,
 "first_frame_s": T, "fps": F, "max_gap_ms": G, "frames_after_first_second": ...,
 "delete_status": 200}. With --dump PATH it writes the last decoded picture there as raw
BGR (W*H*3 bytes). --no-delete leaves without ending the session (a vanished client); --progress prints
frames=N to stderr every 0.5 s.
A refused offer prints {"status": CODE, "body": "..."} and exits 0: the test reads it.

    whep_client.py http://127.0.0.1:5678/whep --seconds 10 --dump /tmp/last.bgr
"""
import argparse
import asyncio
import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription


def request(method, url, body=None, auth=None, content_type=None):
    req = urllib.request.Request(url, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--dump")
    parser.add_argument("--auth", help="USER:PASSWORD for Basic auth")
    parser.add_argument("--no-delete", action="store_true")
    parser.add_argument("--progress", action="store_true", help="print frames=N to stderr every 0.5 s")
    args = parser.parse_args()

    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    tracks = asyncio.Queue()
    pc.on("track", lambda track: tracks.put_nowait(track))
    await pc.setLocalDescription(await pc.createOffer())
    status, headers, body = await asyncio.to_thread(
        request, "POST", args.url, pc.localDescription.sdp.encode(), args.auth, "application/sdp"
    )
    if status != 201:
        print(json.dumps({"status": status, "body": body.decode(errors="replace")}))
        await pc.close()
        return
    location = headers.get("Location") or headers.get("location")
    await pc.setRemoteDescription(RTCSessionDescription(body.decode(), "answer"))
    track = await asyncio.wait_for(tracks.get(), 10)

    started = time.monotonic()
    first = None
    times = []
    width = height = 0
    last = None
    next_progress = 0.0
    while time.monotonic() - started < args.seconds:
        try:
            frame = await asyncio.wait_for(track.recv(), max(0.1, args.seconds - (time.monotonic() - started)))
        except asyncio.TimeoutError:
            break
        except Exception:  # the track ended
            break
        now = time.monotonic()
        if first is None:
            first = now
        times.append(now)
        width, height = frame.width, frame.height
        last = frame
        if args.progress and now >= next_progress:
            print(f"frames={len(times)}", file=sys.stderr, flush=True)
            next_progress = now + 0.5
    result = {"status": 201, "location": location, "frames": len(times), "width": width, "height": height}
    if times:
        result["first_frame_s"] = round(first - started, 3)
        span = times[-1] - times[0]
        result["fps"] = round((len(times) - 1) / span, 2) if span > 0 else 0
        gaps = [b - a for a, b in zip(times, times[1:])]
        result["max_gap_ms"] = round(max(gaps) * 1000, 1) if gaps else 0
        later = [t for t in times if t - first >= 1.0]
        result["fps_after_first_second"] = round((len(later) - 1) / (later[-1] - later[0]), 2) if len(later) > 1 and later[-1] > later[0] else 0
    if args.dump and last is not None:
        with open(args.dump, "wb") as f:
            f.write(last.to_ndarray(format="bgr24").tobytes())
    if args.no_delete:
        # Vanish: no DELETE, no DTLS close, no more consent checks.
        print(json.dumps(result), flush=True)
        import os
        os._exit(0)
    if location:
        status, _, _ = await asyncio.to_thread(request, "DELETE", urllib.parse.urljoin(args.url, location), None, args.auth)
        result["delete_status"] = status
    await pc.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
