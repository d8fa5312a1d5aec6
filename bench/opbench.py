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
  opbench.py schedules CLUSTER_DIR NS N SPEC.json LEAD_S OUT.json SCHEDULED_FILE CREATED_FILE TIMEOUT_S
      Creates N BackupSchedules sched-00000.. due in the same minute (the
      first at least LEAD_S seconds away, UTC) with that backup spec, and
      watches schedules, DatabaseBackups and Jobs: SCHEDULED_FILE (holding
      the due time) once every schedule shows it as nextScheduleTime,
      CREATED_FILE once every run's backup and Job exist, OUT.json once
      every run is final (seconds after the due time, wall clock).
  opbench.py requests BEFORE.txt AFTER.txt N
      The operator's API requests between two scrapes of its /metrics
      (lifeboat_kube_requests_total, watches left out), per run of N:
      "TOTAL verb resource PER_RUN, ...".
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


def watch(api, path, handler, stop, deadline, on_open, errors):
    """Lists path, then watches it from that list's resourceVersion until stop
    is set or the deadline passes, calling handler(type, object, monotonic
    time) for each ADDED or MODIFIED event (the listed objects are not
    passed). on_open() is called once, when the first watch is open."""
    c = api.conn(timeout=max(5.0, deadline - time.monotonic() + 5))
    status, text = api.call(c, "GET", path + ("&" if "?" in path else "?") + "limit=500")
    if status != 200:
        errors.append("list %s: %d %s" % (path, status, text[:200]))
        on_open()
        return
    rv = json.loads(text)["metadata"]["resourceVersion"]
    told = False
    while not stop.is_set() and time.monotonic() < deadline:
        left = int(max(1, deadline - time.monotonic()))
        w = (path + ("&" if "?" in path else "?") +
             "watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s" % (left, rv))
        c.request("GET", w, headers={"Accept": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            errors.append("watch %s: %d %s" % (path, r.status, r.read()[:200]))
            break
        if not told:
            told = True
            on_open()
        while not stop.is_set():
            line = r.readline()
            t = time.monotonic()
            if not line:
                break
            ev = json.loads(line)
            obj = ev.get("object") or {}
            if ev.get("type") == "ERROR":
                errors.append("watch %s: %s" % (path, obj.get("message")))
                stop.set()
                break
            rv = obj.get("metadata", {}).get("resourceVersion", rv)
            if ev.get("type") in ("ADDED", "MODIFIED"):
                handler(ev["type"], obj, t)
        r.close()
        c.close()
        c = api.conn(timeout=max(5.0, deadline - time.monotonic() + 5))
    if not told:
        on_open()


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

    def on_open():
        with lock:
            opened.append(1)
            if len(opened) == 2:
                open(ready_file, "w").write("ready\n")

    def run(path, handler):
        watch(api, path, handler, all_final, deadline, on_open, errors)

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


def in_parallel(api, n, fn, workers=8):
    """Calls fn(call, i) for i in range(n) on `workers` threads, each with its
    own connection: call(method, path, body, ctype) -> (status, text), which
    reconnects and retries transport errors (5 attempts)."""
    local = threading.local()

    def call(method, path, body, ctype="application/json"):
        for attempt in range(5):
            try:
                if not hasattr(local, "c"):
                    local.c = api.conn()
                return api.call(local.c, method, path, body, ctype)
            except (OSError, http.client.HTTPException):
                local.__dict__.pop("c", None)
                if attempt == 4:
                    raise
        return None

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        for f in concurrent.futures.as_completed([ex.submit(fn, call, i) for i in range(n)]):
            f.result()


def cmd_create(cluster_dir, ns, prefix, n, spec_file, status_file=None):
    api = Api(cluster_dir)
    spec = json.load(open(spec_file))
    status = json.load(open(status_file)) if status_file else None
    base = GROUP + "/namespaces/%s/databasebackups" % ns

    def one(call, i):
        name = "%s-%05d" % (prefix, i)
        body = {"apiVersion": "lifeboat.dev/v1alpha1", "kind": "DatabaseBackup",
                "metadata": {"name": name, "labels": {"lifeboat.dev/bench": "operator"}},
                "spec": spec}
        st, text = call("POST", base, body)
        if st not in (200, 201, 409):
            raise RuntimeError("create %s: %d %s" % (name, st, text[:300]))
        if status is None:
            return
        s = dict(status)
        s["jobName"] = name + "-backup"
        st, text = call("PATCH", base + "/" + name + "/status", {"status": s},
                        "application/merge-patch+json")
        if st != 200:
            raise RuntimeError("status %s: %d %s" % (name, st, text[:300]))

    in_parallel(api, int(n), one)
    return 0


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def cmd_schedules(cluster_dir, ns, n, spec_file, lead_s, out, scheduled_file, created_file,
                  timeout_s):
    """N BackupSchedules due in the same minute (the first minute at least
    lead_s seconds away), created through 8 connections while watches on
    schedules, DatabaseBackups and Jobs run. Writes scheduled_file once every
    schedule's status shows that minute as nextScheduleTime (the due time in
    it), created_file once every run's DatabaseBackup and Job exist, and
    OUT.json once every run is final: wall-clock times against the due
    time."""
    api = Api(cluster_dir)
    n = int(n)
    spec = json.load(open(spec_file))
    start = time.time()
    due = (int(start + float(lead_s)) // 60 + 1) * 60
    due_text = iso(due)
    cron = "%d %d * * *" % (time.gmtime(due).tm_min, time.gmtime(due).tm_hour)
    deadline = time.monotonic() + float(timeout_s)
    # monotonic -> wall clock, once: event times are monotonic
    offset = time.time() - time.monotonic()
    lock = threading.Lock()
    ready, added, job_added, final, phase = {}, {}, {}, {}, {}
    stop = threading.Event()
    all_scheduled, all_created = threading.Event(), threading.Event()
    opened, errors = [], []

    def check():
        if len(ready) >= n and not all_scheduled.is_set():
            all_scheduled.set()
            open(scheduled_file, "w").write("%d\n" % due)
        if len(added) >= n and len(job_added) >= n and not all_created.is_set():
            all_created.set()
            open(created_file, "w").write("created\n")
        if len(final) >= n:
            stop.set()

    def on_schedule(kind, obj, t):
        st = obj.get("status") or {}
        with lock:
            if st.get("nextScheduleTime") == due_text:
                ready.setdefault(obj["metadata"]["name"], t)
            check()

    def on_backup(kind, obj, t):
        name = obj["metadata"]["name"]
        ph = (obj.get("status") or {}).get("phase")
        with lock:
            if kind == "ADDED":
                added.setdefault(name, t)
            if ph in ("Completed", "Failed") and name not in final:
                final[name] = t
                phase[name] = ph
            check()

    def on_job(kind, obj, t):
        owner = [r.get("name") for r in obj["metadata"].get("ownerReferences") or []
                 if r.get("kind") == "DatabaseBackup"]
        if kind == "ADDED" and owner:
            with lock:
                job_added.setdefault(owner[0], t)
                check()

    def on_open():
        with lock:
            opened.append(1)

    paths = [(GROUP + "/namespaces/%s/backupschedules" % ns, on_schedule),
             (GROUP + "/namespaces/%s/databasebackups" % ns, on_backup),
             ("/apis/batch/v1/namespaces/%s/jobs?labelSelector=%s" % (ns, SELECTOR), on_job)]
    threads = [threading.Thread(target=watch, args=(api, p, h, stop, deadline, on_open, errors),
                                daemon=True) for p, h in paths]
    for th in threads:
        th.start()
    while len(opened) < len(paths) and time.monotonic() < deadline:
        time.sleep(0.05)
    base = GROUP + "/namespaces/%s/backupschedules" % ns

    def one(call, i):
        name = "sched-%05d" % i
        body = {"apiVersion": "lifeboat.dev/v1alpha1", "kind": "BackupSchedule",
                "metadata": {"name": name},
                "spec": {"schedule": cron, "timeZone": "UTC",
                         "backupTemplate": {"metadata": {"labels": {"bench": "schedule"}},
                                            "spec": spec}}}
        st, text = call("POST", base, body)
        if st not in (200, 201):
            raise RuntimeError("create %s: %d %s" % (name, st, text[:300]))

    t0 = time.time()
    in_parallel(api, n, one)
    created_s = time.time() - t0
    stop.wait(max(0.0, deadline - time.monotonic()))
    with lock:
        wall = lambda d: [v + offset for v in d.values()]
        res = {"n": n, "due": due, "cron": cron, "created_s": created_s,
               "schedules_ready": len(ready), "backups_seen": len(added),
               "jobs_seen": len(job_added), "errors": errors,
               "completed": sum(1 for v in phase.values() if v == "Completed"),
               "failed": sum(1 for v in phase.values() if v == "Failed")}
        if ready:
            res["scheduled_before_due_s"] = due - max(wall(ready))
        if added:
            res["first_backup_s"] = min(wall(added)) - due
            res["all_backups_s"] = max(wall(added)) - due
        if job_added:
            lat = [v - due for v in wall(job_added)]
            res["all_jobs_s"] = max(lat)
            res["jobs_p50_s"] = percentile(lat, 50)
        if final:
            res["all_final_s"] = max(wall(final)) - due
    json.dump(res, open(out, "w"), indent=1)
    return 0


def requests_of(path):
    """{(verb, resource): count} from a /metrics text's
    lifeboat_kube_requests_total, watches left out (they stay open)."""
    import re
    got = {}
    pat = re.compile(r'^lifeboat_kube_requests_total\{verb="([^"]*)",resource="([^"]*)",code="[^"]*"\} (\S+)$')
    for line in open(path):
        m = pat.match(line.strip())
        if m and m.group(1) != "watch":
            k = (m.group(1), m.group(2))
            got[k] = got.get(k, 0) + float(m.group(3))
    return got


def cmd_requests(before, after, n):
    """Prints the requests made between two /metrics texts, per run:
    "TOTAL_PER_RUN verb resource=per-run, ..." (largest first)."""
    a, b = requests_of(before), requests_of(after)
    d = {k: b.get(k, 0) - a.get(k, 0) for k in b}
    d = {k: v for k, v in d.items() if v > 0}
    n = int(n)
    parts = ", ".join("%s %s %.2f" % (k[0], k[1], v / n)
                      for k, v in sorted(d.items(), key=lambda kv: -kv[1]))
    print("%.2f %s" % (sum(d.values()) / n, parts))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "watch":
        sys.exit(cmd_watch(*sys.argv[2:]))
    if len(sys.argv) in (7, 8) and sys.argv[1] == "create":
        sys.exit(cmd_create(*sys.argv[2:]))
    if len(sys.argv) == 5 and sys.argv[1] == "requests":
        sys.exit(cmd_requests(*sys.argv[2:]))
    if len(sys.argv) == 11 and sys.argv[1] == "schedules":
        sys.exit(cmd_schedules(*sys.argv[2:]))
    sys.stderr.write(__doc__)
    sys.exit(2)
