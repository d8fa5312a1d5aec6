#!/usr/bin/env python3
"""bench/opbench.py: the Kubernetes side of bench/operator.sh, standard library
only (raw HTTPS to the apiserver with the cluster's admin certificate).

  opbench.py watch CLUSTER_DIR NS N OUT.json READY_FILE TIMEOUT_S
      Lists, then watches DatabaseBackups and the operator's Jobs in NS (one
      thread per watch, one process, one monotonic clock) and records when
      each backup's ADDED event arrived, when its Job's ADDED event arrived
      and when the backup was first seen Completed or Failed. READY_FILE is
      written once both watches are open; it exits when all N backups are
      final (or after TIMEOUT_S) and writes OUT.json: per-backup times and
      the latency percentiles (ms).
  opbench.py create CLUSTER_DIR NS PREFIX N SPEC.json [STATUS.json]
      Creates N DatabaseBackups PREFIX-00000.. with that spec (8 connections
      in parallel); with STATUS.json, then writes that status to each of them
      through the status subresource.
"""
import concurrent.futures
import http.client
import json
import os
import ssl
import sys
import threading
import time

GROUP = "/apis/lifeboat.dev/v1alpha1"
SELECTOR = "app.kubernetes.io%2Fmanaged-by%3Dlifeboat-operator"


class Api:
    def __init__(self, cluster_dir):
        url = open(os.path.join(cluster_dir, "apiserver.url")).read().strip()
        hostport = url.split("://", 1)[1]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        pki = os.path.join(cluster_dir, "pki")
        self.ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
        self.ctx.load_cert_chain(os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key"))

    def conn(self, timeout=60):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)

    def call(self, c, method, path, body=None, ctype="application/json"):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = ctype
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        text = r.read()
        return r.status, text


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def cmd_watch(cluster_dir, ns, n, out, ready_file, timeout_s):
    api = Api(cluster_dir)
    n = int(n)
    deadline = time.monotonic() + float(timeout_s)
    lock = threading.Lock()
    added, job_added, final, phase = {}, {}, {}, {}
    all_final = threading.Event()
    opened = []
    errors = []

    def owner_of(job):
        for r in job.get("metadata", {}).get("ownerReferences") or []:
            if r.get("kind") == "DatabaseBackup":
                return r.get("name")
        return None

    def on_backup(kind, obj, t):
        name = obj["metadata"]["name"]
        ph = (obj.get("status") or {}).get("phase")
        with lock:
            if kind == "ADDED" and name not in added:
                added[name] = t
            if ph in ("Completed", "Failed") and name not in final:
                final[name] = t
                phase[name] = ph
                if len(final) >= n:
                    all_final.set()

    def on_job(kind, obj, t):
        name = owner_of(obj)
        if kind == "ADDED" and name:
            with lock:
                job_added.setdefault(name, t)

    def run(path, handler):
        c = api.conn(timeout=max(5.0, deadline - time.monotonic() + 5))
        status, text = api.call(c, "GET", path + ("&" if "?" in path else "?") + "limit=500")
        if status != 200:
            errors.append("list %s: %d %s" % (path, status, text[:200]))
            opened.append(1)
            return
        rv = json.loads(text)["metadata"]["resourceVersion"]
        while not all_final.is_set() and time.monotonic() < deadline:
            left = int(max(1, deadline - time.monotonic()))
            w = (path + ("&" if "?" in path else "?") +
                 "watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s" % (left, rv))
            c.request("GET", w, headers={"Accept": "application/json"})
            r = c.getresponse()
            if r.status != 200:
                errors.append("watch %s: %d %s" % (path, r.status, r.read()[:200]))
                break
            if len(opened) < 2:
                opened.append(1)
                if len(opened) == 2:
                    open(ready_file, "w").write("ready\n")
            while not all_final.is_set():
                line = r.readline()
                t = time.monotonic()
                if not line:
                    break
                ev = json.loads(line)
                obj = ev.get("object") or {}
                if ev.get("type") == "ERROR":
                    errors.append("watch %s: %s" % (path, obj.get("message")))
                    all_final.set()
                    break
                rv = obj.get("metadata", {}).get("resourceVersion", rv)
                if ev.get("type") in ("ADDED", "MODIFIED"):
                    handler(ev["type"], obj, t)
            r.close()
            c.close()
            c = api.conn(timeout=max(5.0, deadline - time.monotonic() + 5))

    threads = [
        threading.Thread(target=run, args=(GROUP + "/namespaces/%s/databasebackups" % ns, on_backup), daemon=True),
        threading.Thread(target=run, args=("/apis/batch/v1/namespaces/%s/jobs?labelSelector=%s" % (ns, SELECTOR), on_job), daemon=True),
    ]
    for th in threads:
        th.start()
    all_final.wait(max(0.0, deadline - time.monotonic()))
    with lock:
        lat = [1000.0 * (job_added[k] - added[k]) for k in added if k in job_added]
        res = {
            "backups_seen": len(added),
            "jobs_seen": len([k for k in added if k in job_added]),
            "completed": sum(1 for v in phase.values() if v == "Completed"),
            "failed": sum(1 for v in phase.values() if v == "Failed"),
            "first_added": min(added.values()) if added else None,
            "last_final": max(final.values()) if final else None,
            "errors": errors,
        }
        if lat:
            res.update(p50_ms=percentile(lat, 50), p99_ms=percentile(lat, 99), max_ms=max(lat),
                       min_ms=min(lat))
        res["failed_names"] = sorted(k for k, v in phase.items() if v == "Failed")[:20]
        res["missing_names"] = sorted(k for k in added if k not in final)[:20]
    json.dump(res, open(out, "w"), indent=1)
    return 0


def cmd_create(cluster_dir, ns, prefix, n, spec_file, status_file=None):
    api = Api(cluster_dir)
    n = int(n)
    spec = json.load(open(spec_file))
    status = json.load(open(status_file)) if status_file else None
    base = GROUP + "/namespaces/%s/databasebackups" % ns
    local = threading.local()

    def conn():
        if not hasattr(local, "c"):
            local.c = api.conn()
        return local.c

    def one(i):
        name = "%s-%05d" % (prefix, i)
        body = {"apiVersion": "lifeboat.dev/v1alpha1", "kind": "DatabaseBackup",
                "metadata": {"name": name, "labels": {"lifeboat.dev/bench": "operator"}},
                "spec": spec}
        for attempt in range(5):
            try:
                st, text = api.call(conn(), "POST", base, body)
                if st in (200, 201, 409):
                    break
                raise RuntimeError("create %s: %d %s" % (name, st, text[:300]))
            except (OSError, http.client.HTTPException):
                local.__dict__.pop("c", None)
                if attempt == 4:
                    raise
        if status is None:
            return
        s = dict(status)
        s["jobName"] = name + "-backup"
        for attempt in range(5):
            try:
                st, text = api.call(conn(), "PATCH", base + "/" + name + "/status", {"status": s},
                                    "application/merge-patch+json")
                if st == 200:
                    return
                raise RuntimeError("status %s: %d %s" % (name, st, text[:300]))
            except (OSError, http.client.HTTPException):
                local.__dict__.pop("c", None)
                if attempt == 4:
                    raise

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        for f in concurrent.futures.as_completed([ex.submit(one, i) for i in range(n)]):
            f.result()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "watch":
        sys.exit(cmd_watch(*sys.argv[2:]))
    if len(sys.argv) in (7, 8) and sys.argv[1] == "create":
        sys.exit(cmd_create(*sys.argv[2:]))
    sys.stderr.write(__doc__)
    sys.exit(2)
