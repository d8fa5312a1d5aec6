#!/usr/bin/env python3
"""A tiny validating admission webhook for tests/cluster/test-webhook.sh.

Serves AdmissionReview v1 over TLS on 127.0.0.1: refuses any object whose
metadata.labels has `lifeboat.dev/deny` (naming the label in the message),
allows everything else, and appends one line per review to --log (the
operation, kind, name and userInfo.username), so a test can see that the
real apiserver called it and with what.

  webhook.py --cert C --key K --port-file F --log L
Python standard library only. Serves until killed; run it under timeout.
"""

import argparse
import json
import os
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        review = json.loads(self.rfile.read(n) or b"{}")
        req = review.get("request") or {}
        obj = req.get("object") or {}
        labels = (obj.get("metadata") or {}).get("labels") or {}
        with open(self.server.log, "a") as f:
            f.write("%s %s %s %s\n" % (req.get("operation"), (req.get("kind") or {}).get("kind"),
                                       req.get("name") or (obj.get("metadata") or {}).get("name"),
                                       (req.get("userInfo") or {}).get("username")))
        resp = {"uid": req.get("uid"), "allowed": True}
        if "lifeboat.dev/deny" in labels:
            resp = {"uid": req.get("uid"), "allowed": False,
                    "status": {"code": 403, "reason": "Forbidden",
                               "message": "label lifeboat.dev/deny=%s is set: refused by the test webhook"
                                          % labels["lifeboat.dev/deny"]}}
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                           "response": resp}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.log = args.log
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
