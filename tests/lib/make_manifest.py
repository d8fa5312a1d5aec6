#!/usr/bin/python3
"""Writes manifest.json for a backup folder whose dump object was made by
other tools (pg_dump + gpg + aws s3 cp ...), as docs/job.md describes.

usage: make_manifest.py FOLDER NAMESPACE NAME OBJECT_KEY PLAINTEXT_FILE FORMAT COMPRESSION ENCRYPTED
"""
import hashlib
import json
import os
import sys
import time


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    folder, ns, name, key, plain, fmt, comp, enc = sys.argv[1:9]
    obj = os.path.join(folder, key)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    m = {
        "formatVersion": 1,
        "namespace": ns,
        "name": name,
        "toolVersion": "by-hand",
        "createdAt": now,
        "completedAt": now,
        "format": fmt,
        "compression": {"algorithm": comp, "level": 0},
        "objects": [{"key": key, "size": os.path.getsize(obj), "sha256": sha256_file(obj)}],
        "plaintext": {"size": os.path.getsize(plain), "sha256": sha256_file(plain)},
        "encryption": {"enabled": enc == "true"},
        "postgresql": {"serverVersion": "15", "dumpVersion": "15"},
        "database": {"name": "unknown"},
    }
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(m, f, indent=2)


main()
