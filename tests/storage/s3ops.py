"""Shared by the S3 test proxies: which S3 operation a request is, S3's XML
error body, and the listening plumbing (arguments, port file, server).
Standard library only."""
import argparse
import http.server
import os
import socketserver
import sys
import urllib.parse
from xml.sax.saxutils import escape


def classify(method, path, query, headers):
    """S3 operation name for the request (path-style addressing)."""
    segs = [s for s in path.split("/") if s]
    on_object = len(segs) >= 2
    q = dict(query)
    if method == "PUT":
        if "uploadId" in q and "partNumber" in q:
            return "UploadPart"
        return "PutObject" if on_object else "CreateBucket"
    if method == "POST":
        if "uploads" in q:
            return "CreateMultipartUpload"
        if "uploadId" in q:
            return "CompleteMultipartUpload"
        return "Post"
    if method == "DELETE":
        if "uploadId" in q:
            return "AbortMultipartUpload"
        return "DeleteObject" if on_object else "DeleteBucket"
    if method == "HEAD":
        return "HeadObject" if on_object else "HeadBucket"
    if method == "GET":
        if not on_object:
            if "uploads" in q:
                return "ListMultipartUploads"
            if q.get("list-type") == "2":
                return "ListObjectsV2Continuation" if "continuation-token" in q else "ListObjectsV2"
            return "ListObjects"
        return "GetObjectRange" if "range" in headers else "GetObject"
    return method


def error_xml(code, message, **extra):
    more = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in extra.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message>{more}<RequestId>proxy</RequestId></Error>").encode()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def proxy_args():
    """An ArgumentParser with the options every proxy takes: --upstream,
    --port (0 = any free one), --port-file."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    return ap


def serve(name, handler, args, **attrs):
    """Listens on 127.0.0.1:args.port with handler, parses args.upstream
    (also set as server.upstream), sets attrs on the server, writes the port to args.port_file atomically,
    and serves until killed."""
    if isinstance(args.upstream, str):
        args.upstream = urllib.parse.urlsplit(args.upstream)
    srv = Server(("127.0.0.1", args.port), handler)
    srv.upstream = args.upstream
    for k, v in attrs.items():
        setattr(srv, k, v)
    port = srv.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(args.port_file + ".tmp", args.port_file)
    print(f"{name}: listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    srv.serve_forever()
