"""serve_util.py: helpers shared by the clmnist serve tests (python3 standard library only)."""
import gzip
import http.client
import json
import os
import re
import struct
import subprocess
import time
import zlib


def mnist_test_images(data):
    """The t10k images (bytes, 784 per image) and labels of an IDX directory, raw or gzip."""
    out = []
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        path = os.path.join(data, stem)
        raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
        out.append(raw[16:] if "images" in stem else raw[8:])
    return out[0], out[1]


def png_gray(pixels, width, height):
    """An 8-bit grayscale PNG of width x height pixels (bytes, row by row)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + pixels[y * width:(y + 1) * width] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def png_rgb(planes, width, height):
    """An 8-bit RGB PNG of 3 planes (sequences of width x height values, row by row)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + bytes(v for x in range(width) for v in (planes[0][y * width + x], planes[1][y * width + x],
                                                                   planes[2][y * width + x]))
                    for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def request(port, method, path, body=None, headers=None, source=None, tls=None, timeout=30):
    """One request to 127.0.0.1:port: (status, headers with lower-case names, the body as JSON or
    None when it is not JSON, the raw body). source: the local address to send from; tls: an
    ssl.SSLContext for HTTPS."""
    if tls:
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                       source_address=(source, 0) if source else None)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), doc, raw


def request_json(port, method, path, body=None, headers=None):
    """request(), shorter: (status, the body as JSON, or as text when it is not JSON)."""
    status, _, doc, raw = request(port, method, path, body, headers)
    return status, doc if doc is not None else raw.decode("latin-1")


class Server:
    """clmnist serve on a free port (--port 0), the port read from its 'listening on' line."""

    def __init__(self, binary, args, log, env=None):
        self.log = open(log, "w+")
        self.proc = subprocess.Popen([binary, "serve", "--port", "0"] + args, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        self.port = None
        deadline = time.time() + 120
        while time.time() < deadline and self.proc.poll() is None:
            self.log.seek(0)
            m = re.search(r"listening on https?://[^:/]+:(\d+)/", self.log.read())
            if m:
                self.port = int(m.group(1))
                return
            time.sleep(0.1)
        self.log.seek(0)
        raise RuntimeError("the server did not start:\n" + self.log.read())

    def stop(self, timeout=20):
        """SIGTERM; the exit status (None if it had to be killed)."""
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def output(self):
        self.log.seek(0)
        return self.log.read()
