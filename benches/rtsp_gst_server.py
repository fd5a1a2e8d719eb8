#!/usr/bin/python3
"""GStreamer's RTSP server (gst-rtsp-server through PyGObject) as the baseline of
scripts/bench-rtsp: one shared pipeline, reading I420 frames from a FIFO the fake
rpicam-vid writes (as pistream reads them from its pipe), encoding them with OpenH264 at
pistream's settings and serving them at rtsp://127.0.0.1:PORT/stream to every client.

    rtsp_gst_server.py PORT WIDTH HEIGHT FPS BITRATE GOP FIFO
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

port, width, height, fps, bitrate, gop, fifo = sys.argv[1:8]
Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    f"( filesrc location={fifo} blocksize={int(width) * int(height) * 3 // 2} "
    f"! rawvideoparse format=i420 width={width} height={height} framerate={fps}/1 "
    f"! openh264enc bitrate={bitrate} gop-size={gop} rate-control=bitrate "
    f"! video/x-h264,profile=constrained-baseline "
    f"! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)
factory.set_shared(True)
server.get_mount_points().add_factory("/stream", factory)
server.attach(None)
print(f"gst-rtsp-server on rtsp://127.0.0.1:{port}/stream", flush=True)
GLib.MainLoop().run()
