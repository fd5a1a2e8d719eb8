"""Stand-ins for the OpenCV calls of the seed program (server.py, client.py), so that its
test needs numpy only. Imported by both as `cv` (each marks that edit). Not part of the
seed program: written for pistream's tests.

- VideoCapture: the camera, replaced by pistream's test pattern (src/source/pattern.rs):
  for frame n, pixel (x, y) is B = x + 4n, G = y + 2n, R = (x XOR y) + n (mod 256), and the
  first 8 bytes carry n big-endian, so `pistream --verify` checks these frames and this
  module checks pistream's. Paced like a camera (SEED_FPS, default 30). After release(),
  read() returns (False, None), as cv2.VideoCapture does.
- resize: what cv2.resize does with the arguments the seed gives it: a 640x480 frame comes
  back as it is (others are scaled, nearest neighbour); None raises, as OpenCV's assertion
  `!ssize.empty()` does, which is how the seed's sender thread ends after release().
- imshow: the window, replaced by a counter that checks each frame's content against the
  pattern.
- waitKey: returns 13 (Enter) once SEED_ENTER_AFTER frames were shown (never if unset or
  0), otherwise -1, after waiting `delay` ms as the real one does.
- destroyAllWindows: nothing to destroy.

At exit it prints one line the tests read:
  fakecv: camera made N frames; window showed S frames: I intact, C corrupt; last intact L
where L is the highest frame number among the intact frames (-1 if none): frames 0..=L were
sent before it, so I / (L + 1) is the fraction of them that arrived intact.
"""

import atexit
import os
import sys
import threading
import time

import numpy as np

WIDTH, HEIGHT = 640, 480
FPS = float(os.environ.get("SEED_FPS", "30"))
ENTER_AFTER = int(os.environ.get("SEED_ENTER_AFTER", "0"))


def _base():
    x = (np.arange(WIDTH) % 256).astype(np.uint8)[None, :].repeat(HEIGHT, axis=0)
    y = (np.arange(HEIGHT) % 256).astype(np.uint8)[:, None].repeat(WIDTH, axis=1)
    return np.stack([x, y, x ^ y], axis=2)


_BASE = _base()


def pattern(n):
    """Pattern frame n as a 480x640x3 uint8 BGR array (pistream's formula)."""
    offsets = np.array([4 * n % 256, 2 * n % 256, n % 256], dtype=np.uint8)
    frame = _BASE + offsets  # uint8 arithmetic wraps mod 256
    frame.reshape(-1)[:8] = np.frombuffer(n.to_bytes(8, "big"), dtype=np.uint8)
    return frame


class _Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.made = 0
        self.shown = 0
        self.intact = 0
        self.corrupt = 0
        self.last = -1


_counts = _Counts()


@atexit.register
def _report():
    c = _counts
    print(
        "fakecv: camera made {} frames; window showed {} frames: {} intact, {} corrupt; last intact {}".format(
            c.made, c.shown, c.intact, c.corrupt, c.last
        ),
        flush=True,
    )


class error(Exception):
    """cv2.error."""


class VideoCapture:
    def __init__(self, index):
        self.index = index  # any camera index or URL: the pattern stands in for all
        self.n = 0
        self.released = False
        self.next_at = time.monotonic()

    def read(self):
        if self.released:
            return False, None
        if FPS > 0:
            now = time.monotonic()
            if now < self.next_at:
                time.sleep(self.next_at - now)
            self.next_at = max(self.next_at + 1.0 / FPS, now)
        frame = pattern(self.n)
        self.n += 1
        with _counts.lock:
            _counts.made = self.n
        return True, frame

    def release(self):
        self.released = True


def resize(src, dsize):
    if src is None or getattr(src, "size", 0) == 0:
        raise error("OpenCV(fakecv) resize: error: (-215:Assertion failed) !ssize.empty() in function 'resize'")
    width, height = dsize
    if src.shape[0] == height and src.shape[1] == width:
        return src
    rows = np.arange(height) * src.shape[0] // height
    cols = np.arange(width) * src.shape[1] // width
    return src[rows][:, cols]


def imshow(title, image):
    data = image.tobytes()
    n = int.from_bytes(data[:8], "big")
    intact = n < 1 << 32 and data == pattern(n).tobytes()
    with _counts.lock:
        _counts.shown += 1
        if intact:
            _counts.intact += 1
            _counts.last = max(_counts.last, n)
        else:
            _counts.corrupt += 1
            if _counts.corrupt <= 3:
                print("fakecv: shown frame {} is not a pattern frame".format(_counts.shown), file=sys.stderr)


def waitKey(delay):
    time.sleep(max(delay, 1) / 1000.0)
    with _counts.lock:
        shown = _counts.shown
    if ENTER_AFTER > 0 and shown >= ENTER_AFTER:
        print("fakecv: Enter", flush=True)
        return 13
    return -1


def destroyAllWindows():
    pass
