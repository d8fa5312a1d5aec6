#!/usr/bin/python3
"""Google's side of a service-account login, in front of fake-gcs-server
(which checks no credentials).

- POST /token is an OAuth 2.0 token endpoint for the JWT bearer grant
  (RFC 7523), as https://oauth2.googleapis.com/token is: it verifies the
  assertion's RS256 signature with the service account's public key
  (python3-cryptography), and its claims (iss = the account's email, aud =
  this token URI, the devstorage scope, iat within a minute of now, exp =
  iat + 3600, kid = the key's id), then issues a random access token that
  lives --expires-in seconds.
- Every other request must carry "Authorization: Bearer T" with a token it
  issued that has not expired (401 authError otherwise, like GCS), and then
  goes to fake-gcs-server unchanged.
- fake-gcs-server takes a resumable upload's status query (PUT, empty body,
  "Content-Range: bytes */*") as the end of the upload; the proxy answers it
  itself from the bytes it saw the server accept (308 with Range), as GCS
  does.
- Faults, set by POST /__gcs/rules (a JSON list; each fires `times` times,
  -1 = always): {"name", "op", "status"} answers op with that status without
  forwarding; {"name", "op": "chunk", "keep": N} forwards only the chunk's
  first N bytes (rounded down to 256 KiB, as GCS persists) and then resets the
  connection; {"name", "op": "get", "reset": true, "afterBytes": N} cuts a
  download after N bytes. "path": S limits a rule to requests whose decoded
  path and query contain S. op is one of token, initiate, chunk, finalize,
  status, cancel, get, meta, list, delete.

GET /__gcs/stats: {"grants", "unauthorized", "ops": {...}, "fired": {...},
"statusQueries", "expiredRefused", "allOps": {...}}; POST /__gcs/revoke makes
every issued token invalid; POST /__gcs/reset clears rules and counters (not
allOps); POST /__gcs/config {"expiresIn": N} sets the life of new tokens.

  gcs_auth.py --upstream http://127.0.0.1:PORT --public-key pub.pem
              --client-email E --key-id K [--expires-in 3600] [--port-file F]
"""
import base64
import http.client
import http.server
import json
import secrets
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

import s3ops

GRANULE = 256 * 1024
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
LOCK = threading.Lock()
TOKENS = {}  # token -> expiry (time.time())
HELD = {}  # upload_id -> bytes the server accepted
STATS = {}
RULES = []
ALL_OPS = {}  # every request by op since start (never reset)
CONFIG = {"expiresIn": None}


def reset():
    with LOCK:
        STATS.clear()
        STATS.update({"grants": 0, "unauthorized": 0, "expiredRefused": 0, "ops": {}, "fired": {},
                      "statusQueries": 0, "badAssertions": []})
        RULES.clear()


reset()


def bump(op):
    with LOCK:
        STATS["ops"][op] = STATS["ops"].get(op, 0) + 1
        ALL_OPS[op] = ALL_OPS.get(op, 0) + 1


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def classify(method, path, query, headers):
    q = dict(query)
    if path == "/token":
        return "token"
    if path.startswith("/upload/"):
        if method == "POST":
            return "initiate"
        if method == "DELETE":
            return "cancel"
        cr = headers.get("content-range", "")
        if cr == "bytes */*":
            return "status"
        return "finalize" if not cr.endswith("/*") else "chunk"
    if method == "GET" and "/o/" in path:
        if q.get("alt") == "media":
            return "getRange" if "range" in headers else "get"
        return "meta"
    if method == "GET" and path.rstrip("/").endswith("/o"):
        return "listPage2" if "pageToken" in q else "list"
    if method == "DELETE":
        return "delete"
    return method.lower()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=None, ctype="application/json"):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def json_error(self, status, reason, message):
        self.reply(status, json.dumps({"error": {"code": status, "message": message,
                                                 "errors": [{"reason": reason, "message": message}]}}).encode())

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def rule_for(self, op):
        path = urllib.parse.unquote(self.path)
        with LOCK:
            for r in RULES:
                if r.get("op") == op and r.get("times", 1) != 0 and r.get("path", "") in path:
                    if r.get("times", 1) > 0:
                        r["times"] -= 1
                    STATS["fired"][r["name"]] = STATS["fired"].get(r["name"], 0) + 1
                    return dict(r)
        return None

    def control(self):
        path = self.path.split("?")[0]
        if path == "/__gcs/stats":
            with LOCK:
                self.reply(200, json.dumps({**STATS, "allOps": ALL_OPS}).encode())
        elif path == "/__gcs/config" and self.command == "POST":
            with LOCK:
                CONFIG.update(json.loads(self.read_body() or b"{}"))
            self.reply(204)
        elif path == "/__gcs/rules" and self.command == "POST":
            rules = json.loads(self.read_body() or b"[]")
            with LOCK:
                RULES[:] = rules
            self.reply(204)
        elif path == "/__gcs/revoke":
            with LOCK:
                TOKENS.clear()
            self.reply(204)
        elif path == "/__gcs/reset":
            reset()
            self.reply(204)
        else:
            self.reply(404)

    def token(self, body):
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        cfg = self.server.cfg

        def bad(why):
            with LOCK:
                STATS["badAssertions"].append(why)
            self.reply(400, json.dumps({"error": "invalid_grant", "error_description": why}).encode())

        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return bad("grant_type is not the JWT bearer grant")
        parts = form.get("assertion", "").split(".")
        if len(parts) != 3:
            return bad("the assertion is not a JWT")
        try:
            header, claims = json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))
            cfg.public_key.verify(b64url_decode(parts[2]), (parts[0] + "." + parts[1]).encode(),
                                  padding.PKCS1v15(), hashes.SHA256())
        except Exception as e:  # noqa: BLE001 - any failure is an invalid grant
            return bad(f"Invalid JWT Signature. ({type(e).__name__})")
        now = time.time()
        host = self.headers.get("Host", "")
        checks = [
            (header.get("alg") == "RS256" and header.get("typ") == "JWT", "header is not RS256 JWT"),
            (header.get("kid") == cfg.key_id, "kid is not the key's id"),
            (claims.get("iss") == cfg.client_email, "iss is not the service account"),
            (claims.get("aud") == f"http://{host}/token", "aud is not this token URI"),
            ("https://www.googleapis.com/auth/devstorage.read_write" in claims.get("scope", "").split(),
             "scope lacks devstorage.read_write"),
            (abs(claims.get("iat", 0) - now) < 60, "iat is not now"),
            (claims.get("exp", 0) - claims.get("iat", 0) == 3600, "exp is not iat + 3600"),
        ]
        for good, why in checks:
            if not good:
                return bad(why)
        tok = "ya29.test-" + secrets.token_urlsafe(24)
        with LOCK:
            life = CONFIG["expiresIn"] or cfg.expires_in
            TOKENS[tok] = now + life
            STATS["grants"] += 1
        self.reply(200, json.dumps({"access_token": tok, "expires_in": life,
                                    "token_type": "Bearer"}).encode())

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        tok = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        with LOCK:
            exp = TOKENS.get(tok) if tok else None
            if exp is not None and exp > time.time():
                return True
            STATS["unauthorized"] += 1
            if exp is not None:
                STATS["expiredRefused"] += 1
        return False

    def handle_any(self):
        if self.path.startswith("/__gcs/"):
            self.control()
            return
        split = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        op = classify(self.command, split.path, query, headers)
        body = self.read_body()
        bump(op)
        rule = self.rule_for(op)
        if rule and "status" in rule:
            self.json_error(rule["status"], "backendError", f"injected by rule {rule['name']}")
            return
        if op == "token":
            self.token(body)
            return
        if not self.authorized():
            self.json_error(401, "authError", "Invalid Credentials")
            return
        upload_id = dict(query).get("upload_id")
        if op == "status":
            with LOCK:
                held = HELD.get(upload_id, 0)
                STATS["statusQueries"] += 1
            self.reply(308, b"", {"Range": f"bytes=0-{held - 1}"} if held else {})
            return
        if op in ("chunk", "finalize") and rule and "keep" in rule:
            # The server persists a 256 KiB multiple of what arrived, then
            # the connection breaks.
            start = int(headers["content-range"].split()[1].split("-")[0])
            keep = min(len(body), rule["keep"]) // GRANULE * GRANULE
            if keep:
                cr = f"bytes {start}-{start + keep - 1}/*"
                status, _, _ = self.forward(body[:keep], {**dict(self.headers), "Content-Range": cr}, relay=False)
                if status == 308:
                    with LOCK:
                        HELD[upload_id] = start + keep
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status, _, _ = self.forward(body, dict(self.headers), relay=True,
                                    cut=rule.get("afterBytes") if rule and rule.get("reset") else None)
        if op in ("chunk", "finalize") and status in (200, 201, 308):
            cr = headers.get("content-range", "")
            rng = cr.split()[1].split("/")[0] if " " in cr else "*"
            if rng != "*":
                with LOCK:
                    HELD[upload_id] = int(rng.split("-")[1]) + 1

    def forward(self, body, headers, relay, cut=None):
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
        try:
            h = {k: v for k, v in headers.items() if k.lower() not in HOP}
            h["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST") else None,
                         headers=h)
            resp = conn.getresponse()
            data = resp.read()
            if not relay:
                return resp.status, resp.getheaders(), data
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "HEAD":
                return resp.status, None, None
            if cut is not None and cut < len(data):
                self.wfile.write(data[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
            else:
                self.wfile.write(data)
            return resp.status, None, None
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    ap = s3ops.proxy_args()
    ap.add_argument("--public-key", required=True)
    ap.add_argument("--client-email", required=True)
    ap.add_argument("--key-id", required=True)
    ap.add_argument("--expires-in", type=int, default=3600)
    cfg = ap.parse_args()
    with open(cfg.public_key, "rb") as f:
        cfg.public_key = serialization.load_pem_public_key(f.read())
    s3ops.serve("gcs_auth", Handler, cfg, cfg=cfg)


if __name__ == "__main__":
    main()
