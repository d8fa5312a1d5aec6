#!/usr/bin/env python3
"""A fault-injecting TLS proxy in front of the real kube-apiserver.

The real server makes the faults clients must survive only rarely and never
on demand: dropped watches, 5xx storms, 429 with Retry-After, slow replies,
a restart that loses every watch. This proxy sits between a client and the
real apiserver and makes them when a test asks, through a small control API
under /_lifeboat/ on its own port. Everything else is the real server's
answer, streamed through unchanged (watches included).

  faultproxy.py --upstream https://127.0.0.1:6443 --ca CA.crt \
      --cert SERVING.crt --key SERVING.key --port 0 --port-file FILE \
      [--upstream-cert C --upstream-key K] [--restart-cmd CMD]

Clients see TLS with a certificate from the cluster CA (the apiserver's own
serving certificate, valid for 127.0.0.1), so a kubeconfig needs only its
server URL changed. A request's Authorization header is passed on, so a
bearer token authenticates as itself upstream; requests without one use
--upstream-cert if given.

Control API (JSON bodies):
  POST   /_lifeboat/faults        add a rule: {"status": 503, "rate": 0.3,
         "count": 3, "methods": ["GET"], "pathRegex": "watch=",
         "watches": true, "retryAfterSeconds": 1, "slowMs": 150}
         A rule with "status" fails matching requests (not watches unless
         "watches": true) with a Status object like the apiserver's; "rate"
         is the chance per request, "count" a budget; "slowMs" delays them.
  DELETE /_lifeboat/faults        remove every rule
  POST   /_lifeboat/drop-watches  end every open watch stream abruptly
  POST   /_lifeboat/restart       drop every watch, then run --restart-cmd
         (tests/cluster/restart-apiserver: etcd compacted, the real
         apiserver restarted, so resumed watches get a real 410 Gone);
         with {"apiserver": false} only drop the watches
  GET    /_lifeboat/stats         requests, faults injected, watches
Python standard library only. Serves until killed; run it under timeout.
"""

import argparse
import http.client
import json
import random
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
       "content-length", "host"}
REASONS = {
    429: ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
    500: ("InternalError", "Internal error occurred: injected fault"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted"),
}


class Faults:
    """Injected failures, matched per request."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.injected = 0

    def add(self, rule):
        if "pathRegex" in rule:
            re.compile(rule["pathRegex"])
        with self.lock:
            self.rules.append(dict(rule))

    def clear(self):
        with self.lock:
            self.rules = []

    def pick(self, method, target, is_watch):
        """Returns (delay seconds, failing rule or None)."""
        delay, failing = 0.0, None
        with self.lock:
            for r in list(self.rules):
                if r.get("methods") and method not in r["methods"]:
                    continue
                if r.get("pathRegex") and not re.search(r["pathRegex"], target):
                    continue
                if is_watch and r.get("status") and not r.get("watches", False):
                    continue
                delay = max(delay, r.get("slowMs", 0) / 1000.0)
                if r.get("status") and failing is None:
                    if random.random() >= float(r.get("rate", 1.0)):
                        continue
                    if "count" in r:
                        if r["count"] <= 0:
                            continue
                        r["count"] -= 1
                    failing = r
                    self.injected += 1
        return delay, failing


class Proxy(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, args):
        super().__init__(("127.0.0.1", args.port), Handler)
        self.args = args
        up = urllib.parse.urlsplit(args.upstream)
        self.up_host, self.up_port = up.hostname, up.port or 443
        self.faults = Faults()
        self.lock = threading.Lock()
        self.watches = set()  # handlers streaming a watch
        self.requests = 0
        self.watches_started = 0
        self.dropped = 0
        self.restarts = 0
        self.ctx_token = self._client_ctx(None)
        self.ctx_cert = self._client_ctx(args.upstream_cert and (args.upstream_cert, args.upstream_key))
        self.server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_ctx.load_cert_chain(args.cert, args.key)

    def finish_request(self, request, client_address):
        # The TLS handshake runs on the connection's own thread, so one slow
        # client never holds up accept().
        try:
            request = self.server_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        super().finish_request(request, client_address)

    def _client_ctx(self, pair):
        ctx = ssl.create_default_context(cafile=self.args.ca)
        if pair:
            ctx.load_cert_chain(*pair)
        return ctx

    def drop_watches(self):
        with self.lock:
            victims = list(self.watches)
        for h in victims:
            h.abort()
        with self.lock:
            self.dropped += len(victims)
        return len(victims)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lifeboat-faultproxy"

    def log_message(self, fmt, *a):  # quiet; stats are on /_lifeboat/stats
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, OSError):
            self.close_connection = True

    def abort(self):
        """Ends this handler's streams at once, mid-body, as a dead peer would."""
        for s in (self.connection, getattr(self, "upstream_sock", None)):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass

    def do_GET(self):
        self.relay()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, code, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def control(self, method, body):
        srv, p = self.server, urllib.parse.urlsplit(self.path).path
        if p == "/_lifeboat/faults" and method == "POST":
            srv.faults.add(json.loads(body or b"{}"))
            return self.reply(201, {"ok": True})
        if p == "/_lifeboat/faults" and method == "DELETE":
            srv.faults.clear()
            return self.reply(200, {"ok": True})
        if p == "/_lifeboat/drop-watches" and method == "POST":
            return self.reply(200, {"dropped": srv.drop_watches()})
        if p == "/_lifeboat/restart" and method == "POST":
            dropped = srv.drop_watches()
            out = ""
            real = json.loads(body or b"{}").get("apiserver", True)
            if srv.args.restart_cmd and real:
                r = subprocess.run(srv.args.restart_cmd, shell=True, capture_output=True, text=True, timeout=120)
                out = (r.stdout + r.stderr).strip()
                if r.returncode:
                    return self.reply(500, {"dropped": dropped, "error": out})
            srv.drop_watches()  # any watch that got through meanwhile
            with srv.lock:
                srv.restarts += 1
            return self.reply(200, {"dropped": dropped, "restart": out})
        if p == "/_lifeboat/stats" and method == "GET":
            with srv.lock:
                return self.reply(200, {"requests": srv.requests, "faultsInjected": srv.faults.injected,
                                        "watchesStarted": srv.watches_started, "watchesDropped": srv.dropped,
                                        "restarts": srv.restarts})
        return self.reply(404, {"error": "no such control endpoint " + p})

    def inject(self, rule):
        code = int(rule["status"])
        reason, msg = REASONS.get(code, ("InternalError", "injected fault"))
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": msg, "reason": reason, "code": code}
        headers = {}
        if rule.get("retryAfterSeconds") is not None:
            headers["Retry-After"] = str(rule["retryAfterSeconds"])
            status["details"] = {"retryAfterSeconds": int(rule["retryAfterSeconds"])}
        self.reply(code, status, headers)

    def relay(self):
        srv, method = self.server, self.command
        body = self.body()
        if self.path.startswith("/_lifeboat/"):
            return self.control(method, body)
        with srv.lock:
            srv.requests += 1
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        is_watch = q.get("watch", [""])[0] in ("true", "True", "1") or "/watch/" in self.path
        delay, rule = srv.faults.pick(method, self.path, is_watch)
        if delay:
            time.sleep(delay)
        if rule:
            return self.inject(rule)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        ctx = srv.ctx_token if "Authorization" in self.headers else srv.ctx_cert
        conn = http.client.HTTPSConnection(srv.up_host, srv.up_port, context=ctx, timeout=330)
        try:
            conn.request(method, self.path, body=body if body or method in ("POST", "PUT", "PATCH") else None,
                         headers=headers)
            self.upstream_sock = conn.sock
            resp = conn.getresponse()
        except OSError:
            # The apiserver is down (a restart): the client sees a reset.
            conn.close()
            self.close_connection = True
            return self.abort()
        streaming = is_watch or resp.getheader("Transfer-Encoding", "").lower() == "chunked"
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        if not streaming:
            data = resp.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if is_watch:
            with srv.lock:
                srv.watches.add(self)
                srv.watches_started += 1
        try:
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException, ValueError):
            # Dropped on purpose, or a peer went away: no clean end of stream.
            self.close_connection = True
        finally:
            with srv.lock:
                srv.watches.discard(self)
            conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--ca", required=True, help="the cluster CA (verifies the upstream)")
    ap.add_argument("--cert", required=True, help="serving certificate (valid for 127.0.0.1)")
    ap.add_argument("--key", required=True)
    ap.add_argument("--upstream-cert")
    ap.add_argument("--upstream-key")
    ap.add_argument("--restart-cmd", help="run on POST /_lifeboat/restart")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    args = ap.parse_args()
    srv = Proxy(args)
    port = srv.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.replace(args.port_file + ".tmp", args.port_file)
    print("faultproxy: listening on https://127.0.0.1:%d -> %s" % (port, args.upstream), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
