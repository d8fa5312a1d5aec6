#!/usr/bin/python3
"""Fault injection between an S3 client and its server (standard library only).

  fault_proxy.py --upstream http://127.0.0.1:PORT --port-file F

Forwards every request unchanged (headers, Host included, so signatures still
hold) unless a rule matches. Rules are set by the tests:

  POST /__fault/rules   body: JSON list of rules (replaces the current ones)
  GET  /__fault/stats   {"requests": N, "ops": {"UploadPart": N, ...},
                         "fired": {"rule-name": N}, "partRequests": {"3": N}}
  POST /__fault/reset   forget rules and counters

A rule: {"name": "...", "op": "UploadPart" (see s3ops.classify), "part": 3
(optional, UploadPart only), "path": "db.dump" (optional: a substring of the
decoded path), "times": N (-1 = every time), and one action:
  "status": 500|503|429 [+ "retryAfter": seconds]   reply with S3's error XML
  "reset": true [+ "afterBytes": N]   read N bytes of the request body (or,
        for a GET, send N bytes of the reply) then reset the connection (RST)
  "stall": seconds [+ "afterBytes": N]  read the request (or send N bytes of
        the reply), then send nothing for that long, then close
  "corrupt": true   flip a bit of the request body, then forward it
}
"""
import http.client
import http.server
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3ops  # noqa: E402
from s3ops import classify, error_xml  # noqa: E402

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect"}
LOCK = threading.Lock()
RULES = []
STATS = {}
ERRORS = {500: ("InternalError", "We encountered an internal error. Please try again."),
          503: ("SlowDown", "Please reduce your request rate."),
          429: ("TooManyRequests", "Too many requests, please slow down.")}


def reset():
    RULES.clear()
    STATS.clear()
    STATS.update({"requests": 0, "ops": {}, "fired": {}, "partRequests": {}})


reset()


class Reset(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def rst(self):
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        raise Reset()

    def read_body(self, limit=None):
        n = int(self.headers.get("Content-Length") or 0)
        want = n if limit is None else min(n, limit)
        chunks, left = [], want
        while left > 0:
            c = self.rfile.read(min(left, 1 << 20))
            if not c:
                raise Reset()
            chunks.append(c)
            left -= len(c)
        return b"".join(chunks)

    def control(self):
        if self.path == "/__fault/stats" and self.command == "GET":
            with LOCK:
                body = json.dumps(STATS).encode()
            self.reply(200, body, {"Content-Type": "application/json"})
            return
        body = self.read_body()
        with LOCK:
            if self.path == "/__fault/reset":
                reset()
            elif self.path == "/__fault/rules":
                RULES.clear()
                for r in json.loads(body or b"[]"):
                    r.setdefault("times", 1)
                    r.setdefault("name", f"rule{len(RULES) + 1}")
                    RULES.append(r)
        self.reply(200, b"{}", {"Content-Type": "application/json"})

    def pick(self, op, part):
        with LOCK:
            STATS["requests"] += 1
            STATS["ops"][op] = STATS["ops"].get(op, 0) + 1
            if part is not None:
                STATS["partRequests"][part] = STATS["partRequests"].get(part, 0) + 1
            for r in RULES:
                if r.get("op") not in (None, op):
                    continue
                if "part" in r and str(r["part"]) != part:
                    continue
                if "path" in r and r["path"] not in urllib.parse.unquote(self.path.split("?")[0]):
                    continue
                if r["times"] == 0:
                    continue
                if r["times"] > 0:
                    r["times"] -= 1
                STATS["fired"][r["name"]] = STATS["fired"].get(r["name"], 0) + 1
                return dict(r)
        return None

    def handle_any(self):
        try:
            self.handle_request()
        except (Reset, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def handle_request(self):
        if self.path.startswith("/__fault/"):
            self.control()
            return
        split = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        op = classify(self.command, split.path, query, {k.lower() for k in self.headers.keys()})
        part = dict(query).get("partNumber") if op == "UploadPart" else None
        rule = self.pick(op, part)
        downloads = self.command in ("GET", "HEAD")
        if rule and ("reset" in rule or "stall" in rule) and not downloads:
            self.read_body(rule.get("afterBytes"))
            if "reset" in rule:
                self.rst()
            time.sleep(rule["stall"])
            self.rst()
        body = self.read_body()
        if rule and rule.get("corrupt") and body:
            body = bytes([body[0] ^ 0x01]) + body[1:]  # damaged on the way
        if rule and "status" in rule:
            code, message = ERRORS.get(rule["status"], ("InternalError", "injected"))
            headers = {"Content-Type": "application/xml"}
            if "retryAfter" in rule:
                headers["Retry-After"] = str(rule["retryAfter"])
            self.reply(rule["status"], error_xml(code, message), headers)
            return
        self.forward(body, rule if downloads else None)

    def forward(self, body, rule):
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST") else None,
                         headers=headers)
            resp = conn.getresponse()
            self.send_response(resp.status, resp.reason)
            length = resp.getheader("Content-Length")
            for k, v in resp.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            data = None
            if length is None and self.command != "HEAD":
                data = resp.read()
                length = str(len(data))
            self.send_header("Content-Length", length or "0")
            self.end_headers()
            if self.command == "HEAD":
                return
            if data is not None:
                self.wfile.write(data)
                return
            sent, cut = 0, None
            if rule and ("reset" in rule or "stall" in rule) and resp.status // 100 == 2:
                cut = rule.get("afterBytes", int(length) // 2)
            while True:
                want = 1 << 16 if cut is None else min(1 << 16, cut - sent)
                chunk = resp.read(want) if want > 0 else b""
                if chunk:
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    continue
                if cut is not None and sent >= cut:
                    if "stall" in rule:
                        self.wfile.flush()
                        time.sleep(rule["stall"])
                    self.rst()
                break
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    s3ops.serve("fault_proxy", Handler, s3ops.proxy_args().parse_args())


if __name__ == "__main__":
    main()
