"""Shared by the S3 test proxies: which S3 operation a request is, and
S3's XML error body. Standard library only."""
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
