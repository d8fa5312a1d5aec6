#!/usr/bin/python3
"""A SigV4-verifying proxy in front of s3rver (which does not check SigV4),
or in front of a server that does (SeaweedFS), as a second, independent check
and as the suite's request counter.

For every request it recomputes the signature with botocore's own signer
(S3SigV4Auth, Debian's python3-botocore) over the same method, path, query,
signed headers and payload hash, and checks what S3 checks besides:
x-amz-content-sha256 against the body, Content-MD5 against the body, the
credential scope, the clock skew, and that every x-amz-* header is signed.
A mismatch gets S3's 403 SignatureDoesNotMatch XML (or 400 BadDigest /
XAmzContentSHA256Mismatch); a good request goes on to s3rver.

s3rver lacks AbortMultipartUpload and ListMultipartUploads: with --s3rver-dir
the proxy does them itself on s3rver's folder (uploads live in
DIR/BUCKET/._S3rver_uploads/ID), so a client sees real S3 semantics.

  sigv4_proxy.py --upstream http://127.0.0.1:PORT [--port N] [--s3rver-dir DIR]
                 [--access-key S3RVER --secret-key S3RVER --region us-east-1]
                 [--port-file F] [--vhost-suffix localhost]

With --vhost-suffix, a request for Host BUCKET.SUFFIX[:port] is virtual-hosted
style: verified as sent, then forwarded to s3rver in path style; with
--vhost-passthrough too, forwarded as sent (Host kept: the upstream checks
the signature itself and serves virtual-hosted style).

Every request goes upstream with its Host header unchanged, so an upstream
that checks SigV4 verifies the signature the client made.

GET /__proxy/stats returns the counters as JSON:
  {"verified": N, "rejected": N, "ops": {"UploadPart": N, ...},
   "md5Checked": N, "rejections": ["..."], "aborted": N}
POST /__proxy/reset zeroes them.
"""
import base64
import datetime
import hashlib
import http.client
import http.server
import json
import os
import shutil
import sys
import threading
import urllib.parse
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import s3ops  # noqa: E402
from s3ops import classify, error_xml
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect"}
LOCK = threading.Lock()
STATS = {}


def reset_stats():
    STATS.clear()
    STATS.update({"verified": 0, "rejected": 0, "ops": {}, "md5Checked": 0, "rejections": [],
                  "aborted": 0, "requests": 0, "vhost": 0})


reset_stats()


def bump(key, op=None):
    with LOCK:
        if key:
            STATS[key] += 1
        if op:
            STATS["ops"][op] = STATS["ops"].get(op, 0) + 1


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sigv4-proxy"

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        hdrs = dict(headers or {})
        hdrs.setdefault("Content-Type", "application/xml")
        for k, v in hdrs.items():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def reject(self, status, code, message, **extra):
        with LOCK:
            STATS["rejected"] += 1
            if len(STATS["rejections"]) < 50:
                STATS["rejections"].append(f"{self.command} {self.path}: {code}: {message}")
        self.reply(status, error_xml(code, message, **extra), head=self.command == "HEAD")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        chunks, left = [], n
        while left > 0:
            c = self.rfile.read(min(left, 1 << 20))
            if not c:
                raise ConnectionError("short body")
            chunks.append(c)
            left -= len(c)
        return b"".join(chunks)

    def control(self):
        if self.path == "/__proxy/stats" and self.command == "GET":
            with LOCK:
                body = json.dumps(STATS).encode()
            self.reply(200, body, {"Content-Type": "application/json"})
        elif self.path == "/__proxy/reset" and self.command == "POST":
            with LOCK:
                reset_stats()
            self.reply(200, b"{}", {"Content-Type": "application/json"})
        else:
            self.reply(404, b"")

    def verify(self, body):
        """None when the request is signed right, else (status, code, message)."""
        cfg = self.server.cfg
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return (403, "AccessDenied", "no AWS4-HMAC-SHA256 Authorization header")
        fields = {}
        for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = part.strip().partition("=")
            fields[k] = v
        try:
            access_key, date8, region, service, term = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            signature = fields["Signature"]
        except (KeyError, ValueError):
            return (400, "AuthorizationHeaderMalformed", "the Authorization header is malformed")
        if access_key != cfg.access_key:
            return (403, "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.")
        if region != cfg.region or service != "s3" or term != "aws4_request":
            return (400, "AuthorizationHeaderMalformed",
                    f"the credential scope {date8}/{region}/{service}/{term} is wrong; expecting "
                    f"region '{cfg.region}' and service 's3'")
        amz_date = self.headers.get("x-amz-date", "")
        if not amz_date or amz_date[:8] != date8:
            return (403, "SignatureDoesNotMatch", "x-amz-date is missing or not the scope's date")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            return (403, "AccessDenied", f"x-amz-date {amz_date!r} is malformed")
        skew = abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds())
        if skew > 900:
            return (403, "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.")
        if signed != sorted(signed) or "host" not in signed or "x-amz-date" not in signed:
            return (403, "SignatureDoesNotMatch", "SignedHeaders must be sorted and hold host and x-amz-date")
        present = {k.lower() for k in self.headers.keys()}
        for h in present:
            if h.startswith("x-amz-") and h not in signed:
                return (403, "AccessDenied", f"There were headers present in the request which were not signed: {h}")
        for h in signed:
            if h not in present:
                return (403, "SignatureDoesNotMatch", f"signed header {h} is not in the request")
        content_sha = self.headers.get("x-amz-content-sha256")
        if content_sha is None or "x-amz-content-sha256" not in signed:
            return (400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        md5 = self.headers.get("Content-MD5")
        if md5 is not None:
            if md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
                return (400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
            bump("md5Checked")
        if content_sha != "UNSIGNED-PAYLOAD" and content_sha != hashlib.sha256(body).hexdigest():
            return (400, "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.")
        # botocore signs every header it is given: give it exactly the signed ones.
        hdrs = {}
        for h in signed:
            values = self.headers.get_all(h) or []
            hdrs[h] = ",".join(values)
        url = "http://" + self.headers.get("Host", "") + self.path
        req = AWSRequest(method=self.command, url=url, headers=hdrs, data=body)
        signer = S3SigV4Auth(Credentials(cfg.access_key, cfg.secret_key), "s3", cfg.region)
        req.context["timestamp"] = amz_date
        creq = signer.canonical_request(req)
        sts = signer.string_to_sign(req, creq)
        want = signer.signature(sts, req)
        if want != signature:
            return (403, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you "
                    "provided. Check your key and signing method.",
                    {"CanonicalRequest": creq, "StringToSign": sts})
        return None

    def uploads_dir(self, bucket):
        return os.path.join(self.server.cfg.s3rver_dir, bucket, "._S3rver_uploads")

    def emulate(self, op, bucket, query):
        """AbortMultipartUpload and ListMultipartUploads on s3rver's folder."""
        if op == "AbortMultipartUpload":
            upload_id = query.get("uploadId", "")
            d = os.path.join(self.uploads_dir(bucket), os.path.basename(upload_id))
            if not upload_id or not os.path.isdir(d):
                self.reply(404, error_xml("NoSuchUpload", "The specified upload does not exist."))
                return
            shutil.rmtree(d, ignore_errors=True)
            bump("aborted")
            self.reply(204)
            return
        items = []
        base = self.uploads_dir(bucket)
        for upload_id in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            try:
                with open(os.path.join(base, upload_id, "key"), encoding="utf-8") as f:
                    key = f.read()
            except OSError:
                continue
            items.append(f"<Upload><Key>{escape(key)}</Key><UploadId>{escape(upload_id)}</UploadId></Upload>")
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult>'
                f"<Bucket>{escape(bucket)}</Bucket><IsTruncated>false</IsTruncated>"
                + "".join(items) + "</ListMultipartUploadsResult>").encode()
        self.reply(200, body)

    def handle_any(self):
        if self.path.startswith("/__proxy/"):
            self.control()
            return
        try:
            body = self.read_body()
        except (ConnectionError, ValueError):
            self.close_connection = True
            return
        split = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        # Virtual-hosted style (BUCKET.SUFFIX:port): the bucket moves into the
        # path for s3rver, after the signature was checked as sent.
        path, vhost = split.path, False
        host = self.headers.get("Host", "").rsplit(":", 1)[0]
        suffix = self.server.cfg.vhost_suffix
        if suffix and host.endswith("." + suffix):
            path = "/" + urllib.parse.quote(host[: -len(suffix) - 1]) + split.path
            vhost = True
        op = classify(self.command, path, query, {k.lower() for k in self.headers.keys()})
        bump("requests", op)
        if vhost:
            bump("vhost")
        bad = self.verify(body)
        if bad:
            status, code, message = bad[:3]
            extra = bad[3] if len(bad) > 3 else {}
            self.reject(status, code, message, **extra)
            return
        bump("verified")
        bucket = urllib.parse.unquote(path.lstrip("/").split("/")[0])
        if self.server.cfg.s3rver_dir and op in ("AbortMultipartUpload", "ListMultipartUploads"):
            self.emulate(op, bucket, dict(query))
            return
        if vhost and self.server.cfg.vhost_passthrough:
            status = self.forward(body, self.path, False)
        else:
            status = self.forward(body, path + ("?" + split.query if split.query else ""), vhost)
        if op == "AbortMultipartUpload" and status is not None and 200 <= status < 300:
            bump("aborted")

    def forward(self, body, target, vhost):
        """Sends the request upstream and relays the reply; returns its status."""
        up = self.server.cfg.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            headers["Content-Length"] = str(len(body))
            if vhost:
                headers = {k: v for k, v in headers.items() if k.lower() != "host"}
                headers["Host"] = up.netloc
            conn.request(self.command, target, body=body if body or self.command in ("PUT", "POST") else None,
                         headers=headers)
            resp = conn.getresponse()
            status = resp.status
            self.send_response(resp.status, resp.reason)
            length = resp.getheader("Content-Length")
            for k, v in resp.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            if self.command == "HEAD":
                self.send_header("Content-Length", length or "0")
                self.end_headers()
                return status
            if length is None:
                data = resp.read()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return status
            self.send_header("Content-Length", length)
            self.end_headers()
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                self.wfile.write(chunk)
            return status
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    ap = s3ops.proxy_args()
    ap.add_argument("--s3rver-dir")
    ap.add_argument("--access-key", default="S3RVER")
    ap.add_argument("--secret-key", default="S3RVER")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--vhost-suffix", help="treat Host BUCKET.SUFFIX as virtual-hosted style (e.g. localhost)")
    ap.add_argument("--vhost-passthrough", action="store_true",
                    help="forward virtual-hosted requests as sent (the upstream serves that style)")
    cfg = ap.parse_args()
    s3ops.serve("sigv4_proxy", Handler, cfg, cfg=cfg)


if __name__ == "__main__":
    main()
