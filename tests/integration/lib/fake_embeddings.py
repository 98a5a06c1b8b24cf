#!/usr/bin/env python3
"""A small OpenAI-compatible embeddings server for the integration tests.

    fake_embeddings.py PORT DIR [KEY]

POST /v1/embeddings {"model", "input": [texts]} answers
{"data": [{"index", "embedding"}]} (in reverse order: clients must match by
index) with 8 deterministic dimensions per text (from its SHA-256). Each
request appends a line to DIR/requests.log ("<inputs> <model>"). With KEY, a
request without "Authorization: Bearer KEY" gets 401 (its message echoes the
header, as careless servers do). DIR/script scripts the replies: one
directive a line, the first line consumed by each request:
    ok | 429 SECONDS (Retry-After) | 500 | slow SECONDS | dims N | 401
and "always <directive>" applies to every request until the script changes.
"""
import hashlib
import json
import os
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR = int(sys.argv[1]), sys.argv[2]
KEY = sys.argv[3] if len(sys.argv) > 3 else ""
LOCK = threading.Lock()
SCRIPT, LOG = os.path.join(DIR, "script"), os.path.join(DIR, "requests.log")


def next_directive():
    with LOCK:
        try:
            with open(SCRIPT) as f:
                lines = [l.strip() for l in f if l.strip()]
        except FileNotFoundError:
            return ["ok"]
        if not lines:
            return ["ok"]
        if lines[0].startswith("always "):
            return lines[0].split()[1:]
        with open(SCRIPT, "w") as f:
            f.write("".join(l + "\n" for l in lines[1:]))
        return lines[0].split()


def vector(text, dims):
    digest = hashlib.sha256(text.encode()).digest() * (1 + dims // 8)
    return [round(b / 255.0 - 0.5, 6) for b in struct.unpack(f"{dims}B", digest[:dims])]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout under test)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length))
        inputs = request["input"]
        with LOCK, open(LOG, "a") as f:
            f.write(f"{len(inputs)} {request['model']}\n")
        if self.path != "/v1/embeddings":
            return self.reply(404, {"error": {"message": "no such path"}})
        auth = self.headers.get("Authorization", "")
        if KEY and auth != "Bearer " + KEY:
            return self.reply(401, {"error": {"message": "Incorrect API key provided: " + auth}})
        d = next_directive()
        dims = 8
        if d[0] == "429":
            return self.reply(429, {"error": {"message": "rate limited"}}, [("Retry-After", d[1] if len(d) > 1 else "1")])
        if d[0] == "500":
            return self.reply(500, {"error": {"message": "internal error"}})
        if d[0] == "401":
            return self.reply(401, {"error": {"message": "Incorrect API key provided: " + auth}})
        if d[0] == "slow":
            time.sleep(float(d[1]))
        if d[0] == "dims":
            dims = int(d[1])
        data = [{"object": "embedding", "index": i, "embedding": vector(t, dims)} for i, t in enumerate(inputs)]
        self.reply(200, {"object": "list", "data": data[::-1], "model": request["model"]})


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
