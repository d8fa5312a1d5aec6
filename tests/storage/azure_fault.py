#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for the Azure tests (Python 3 standard library
only). It forwards every request unchanged to Azurite on 127.0.0.1:TARGET (the
SharedKey signature covers the path, query and x-ms-* headers, not the host,
so signed requests pass through), except when a rule says otherwise:

  POST /_fault/503?match=S&count=N   the next N requests whose path+query
  POST /_fault/500?match=S&count=N   contains S get that status (the request
  POST /_fault/429?match=S&count=N   body is read first); 429 and 503 carry
                                     Retry-After: 1 (503 only when retryAfter=1)
  POST /_fault/cut?match=S&after=B&count=N
                                     the next N matching replies are cut (the
                                     connection closed) after B body bytes
  POST /_fault/reset                 forget every rule

Each injected fault and each request with a Range header is logged (--log).
Bounded: it serves until killed; the tests start it under their own PID and
stop it by PID.
"""
import argparse
import http.client
import http.server
import threading
import urllib.parse

RULES = []
LOCK = threading.Lock()
LOG = None
TARGET = 0


def log(line):
    with LOCK:
        with open(LOG, "a") as f:
            f.write(line + "\n")


def take_rule(method, path):
    with LOCK:
        for r in RULES:
            if r["kind"] == "cut" and method != "GET":
                continue
            if r["count"] > 0 and r["match"] in path:
                r["count"] -= 1
                return dict(r)
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def control(self):
        u = urllib.parse.urlsplit(self.path)
        kind = u.path[len("/_fault/"):]
        q = dict(urllib.parse.parse_qsl(u.query))
        with LOCK:
            if kind == "reset":
                RULES.clear()
            else:
                RULES.append({"kind": kind, "match": q.get("match", ""),
                              "count": int(q.get("count", "1")), "after": int(q.get("after", "0")),
                              "retry_after": q.get("retryAfter", "1" if kind == "429" else "")})
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def handle_any(self):
        if self.path.startswith("/_fault/"):
            return self.control()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if self.headers.get("Range"):
            log("REQ %s %s Range: %s" % (self.command, self.path.split("?")[0], self.headers["Range"]))
        rule = take_rule(self.command, self.path)
        if rule and rule["kind"] in ("500", "503", "429"):
            log("injected %s %s %s" % (rule["kind"], self.command, self.path))
            code = int(rule["kind"])
            err = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ServerBusy</Code>" \
                  b"<Message>injected by azure_fault.py\nRequestId:0</Message></Error>"
            self.send_response(code)
            self.send_header("x-ms-error-code", "ServerBusy" if code != 500 else "InternalError")
            if rule["retry_after"]:
                self.send_header("Retry-After", rule["retry_after"])
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(err)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(err)
            return
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "keep-alive", "proxy-connection")}
        conn = http.client.HTTPConnection("127.0.0.1", TARGET, timeout=60)
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "keep-alive", "content-length"):
                self.send_header(k, v)
        length = int(resp.getheader("Content-Length") or len(data)) if self.command == "HEAD" else len(data)
        self.send_header("Content-Length", str(length))
        if rule and rule["kind"] == "cut" and len(data) > rule["after"]:
            self.end_headers()
            self.wfile.write(data[:rule["after"]])
            self.wfile.flush()
            log("cut after %d of %d bytes: %s %s" % (rule["after"], len(data), self.command,
                                                   self.path.split("?")[0]))
            self.close_connection = True
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    global LOG, TARGET
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    LOG, TARGET = a.log, a.target
    open(LOG, "a").close()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.listen), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
