#!/usr/bin/env python3
"""A tiny Azure Blob client for the tests, Python 3 standard library only,
written from Microsoft's REST documentation independently of lifeboat's C
signer (so it checks it): SharedKey requests and account SAS tokens.

  azure_tool.py ENDPOINT ACCOUNT KEY create-container NAME
  azure_tool.py ENDPOINT ACCOUNT KEY list CONTAINER [PREFIX]       name<TAB>size per line
  azure_tool.py ENDPOINT ACCOUNT KEY get CONTAINER BLOB FILE
  azure_tool.py ENDPOINT ACCOUNT KEY put CONTAINER BLOB FILE
  azure_tool.py ENDPOINT ACCOUNT KEY blocks CONTAINER BLOB         committed/uncommitted block counts
  azure_tool.py ENDPOINT ACCOUNT KEY sas [PERMISSIONS]             an account SAS (blob service)
  azure_tool.py - - - sign-vector                                  prints a signature for test_azure.c

Exit status 0 on success; on an HTTP error, 1 with the status and body on stderr.
"""
import base64
import datetime
import email.utils
import hashlib
import hmac
import sys
import urllib.error
import urllib.parse
import urllib.request

VERSION = "2021-08-06"


def string_to_sign(method, account, path, query, headers):
    """The SharedKey string-to-sign (version 2015-02-21 and later)."""
    h = {k.lower(): v for k, v in headers.items()}
    length = h.get("content-length", "")
    if length == "0":
        length = ""
    std = [h.get("content-encoding", ""), h.get("content-language", ""), length,
           h.get("content-md5", ""), h.get("content-type", ""), h.get("date", ""),
           h.get("if-modified-since", ""), h.get("if-match", ""), h.get("if-none-match", ""),
           h.get("if-unmodified-since", ""), h.get("range", "")]
    canon_headers = "".join(
        "%s:%s\n" % (k, " ".join(v.split())) for k, v in sorted(h.items()) if k.startswith("x-ms-"))
    resource = "/" + account + (path or "/")
    params = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        params.setdefault(k.lower(), []).append(v)
    for k in sorted(params):
        resource += "\n%s:%s" % (k, ",".join(sorted(params[k])))
    return method + "\n" + "\n".join(std) + "\n" + canon_headers + resource


def sign(key_b64, sts):
    mac = hmac.new(base64.b64decode(key_b64), sts.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def request(endpoint, account, key, method, path, query="", body=None, headers=None):
    headers = dict(headers or {})
    headers["x-ms-date"] = email.utils.formatdate(usegmt=True)
    headers["x-ms-version"] = VERSION
    if body is not None:
        headers["Content-Length"] = str(len(body))
        headers.setdefault("Content-Type", "application/octet-stream")
    base_path = urllib.parse.urlsplit(endpoint).path.rstrip("/")
    full_path = base_path + path
    sts = string_to_sign(method, account, full_path, query, headers)
    headers["Authorization"] = "SharedKey %s:%s" % (account, sign(key, sts))
    url = endpoint.rstrip("/") + path + ("?" + query if query else "")
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def die(status, body):
    sys.stderr.write("HTTP %d: %s\n" % (status, body.decode("utf-8", "replace")[:500]))
    sys.exit(1)


def account_sas(account, key, permissions="rwdlac", hours=2):
    """An account SAS for the blob service (documented string-to-sign for
    version 2020-12-06 and later: an empty encryption-scope line at the end)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    st = (now - datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    se = (now + datetime.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sv, ss, srt, spr = VERSION, "b", "sco", "https,http"
    sts = "\n".join([account, permissions, ss, srt, st, se, "", spr, sv, ""]) + "\n"
    sig = sign(key, sts)
    return urllib.parse.urlencode(
        {"sv": sv, "ss": ss, "srt": srt, "sp": permissions, "st": st, "se": se, "spr": spr,
         "sig": sig})


def main(argv):
    endpoint, account, key, cmd = argv[1:5]
    args = argv[5:]
    q = urllib.parse.quote
    if cmd == "create-container":
        s, b, _ = request(endpoint, account, key, "PUT", "/" + args[0], "restype=container", b"")
        if s not in (201, 409):
            die(s, b)
    elif cmd == "list":
        prefix = args[1] if len(args) > 1 else ""
        marker = ""
        while True:
            query = "restype=container&comp=list"
            if prefix:
                query += "&prefix=" + q(prefix, safe="")
            if marker:
                query += "&marker=" + q(marker, safe="")
            s, b, _ = request(endpoint, account, key, "GET", "/" + args[0], query)
            if s != 200:
                die(s, b)
            import xml.etree.ElementTree as ET
            root = ET.fromstring(b)
            for blob in root.iter("Blob"):
                print("%s\t%s" % (blob.findtext("Name"), blob.findtext("Properties/Content-Length")))
            marker = root.findtext("NextMarker") or ""
            if not marker:
                break
    elif cmd == "get":
        s, b, _ = request(endpoint, account, key, "GET", "/%s/%s" % (args[0], q(args[1])))
        if s != 200:
            die(s, b)
        with open(args[2], "wb") as f:
            f.write(b)
    elif cmd == "put":
        with open(args[2], "rb") as f:
            data = f.read()
        s, b, _ = request(endpoint, account, key, "PUT", "/%s/%s" % (args[0], q(args[1])), "",
                          data, {"x-ms-blob-type": "BlockBlob"})
        if s != 201:
            die(s, b)
    elif cmd == "blocks":
        s, b, _ = request(endpoint, account, key, "GET", "/%s/%s" % (args[0], q(args[1])),
                          "comp=blocklist&blocklisttype=all")
        if s == 404:
            print("committed 0 uncommitted 0 (no blob)")
            return
        if s != 200:
            die(s, b)
        import xml.etree.ElementTree as ET
        root = ET.fromstring(b)
        print("committed %d uncommitted %d" % (len(root.findall("CommittedBlocks/Block")),
                                               len(root.findall("UncommittedBlocks/Block"))))
    elif cmd == "sas":
        print(account_sas(account, key, args[0] if args else "rwdlac"))
    elif cmd == "sign-vector":
        # The vector of test_azure.c (sign__matches_python_vector).
        key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
        headers = {"x-ms-date": "Sun, 22 Nov 2026 01:11:09 GMT", "x-ms-version": VERSION,
                   "Content-Length": "11", "Content-Type": "application/octet-stream",
                   "Content-MD5": "XrY7u+Ae7tCTyyK7j1rNww==", "x-ms-blob-type": "BlockBlob"}
        sts = string_to_sign("PUT", "devstoreaccount1", "/devstoreaccount1/backups/p/a%20b.txt",
                             "comp=block&blockid=MDAwMDAx", headers)
        print(repr(sts))
        print(sign(key, sts))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
