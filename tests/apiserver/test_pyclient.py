#!/usr/bin/python3
"""A second real client against the test API server: python3-kubernetes.

Run by run.sh with /usr/bin/python3 against a server started with --tls
--require-token. Checks the client's kubeconfig/TLS/bearer-token handling,
list+watch through kubernetes.watch.Watch (ADDED, MODIFIED, DELETED and
BOOKMARK events) for a custom object and a ConfigMap, and 410 Gone after a
simulated restart. Records "PASS apiserver: name" / "FAIL apiserver: name:
why" lines in $LIFEBOAT_RESULTS, like tests/lib/t.sh.
Environment: LIFEBOAT_KUBECONFIG, LIFEBOAT_APISERVER_URL, LIFEBOAT_RESULTS.
"""

import json
import os
import ssl
import sys
import threading
import time
import urllib.request

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yamlmini  # noqa: E402

SUITE = os.environ.get("T_SUITE", "apiserver")
RESULTS = os.environ.get("LIFEBOAT_RESULTS", "/dev/null")
KUBECONFIG = os.environ["LIFEBOAT_KUBECONFIG"]
URL = os.environ["LIFEBOAT_APISERVER_URL"]
HERE = os.path.dirname(os.path.abspath(__file__))
failures = 0


def record(name, ok, why=""):
    global failures
    line = "PASS %s: %s" % (SUITE, name) if ok else "FAIL %s: %s: %s" % (SUITE, name, why)
    failures += 0 if ok else 1
    with open(RESULTS, "a") as f:
        f.write(line + "\n")
    print("  ok   %s" % name if ok else "  FAIL %s: %s" % (name, why))


def control(path, method="GET"):
    """The server's test-control API, with the kubeconfig's CA."""
    cfg = yamlmini.load(open(KUBECONFIG).read())
    import base64
    ca = base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    ctx = ssl.create_default_context(cadata=ca)
    req = urllib.request.Request(URL + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.loads(r.read())


def collect(stream_fn, args, kwargs, until, seconds):
    """Runs a watch in a thread; returns the events seen until `until(events)`."""
    events, done, errors = [], threading.Event(), []
    w = watch.Watch()

    def run():
        try:
            for ev in w.stream(stream_fn, *args, **kwargs):
                events.append(ev)
                if until(events):
                    w.stop()
                    break
        except Exception as e:  # reported by the caller
            errors.append(e)
        done.set()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return events, done, errors, w


def name_of(ev):
    obj = ev["object"]
    if isinstance(obj, dict):
        return (obj.get("metadata") or {}).get("name")
    return obj.metadata.name if obj.metadata else None


def main():
    config.load_kube_config(config_file=KUBECONFIG)
    api = client.ApiClient()
    core = client.CoreV1Api(api)
    ext = client.ApiextensionsV1Api(api)
    custom = client.CustomObjectsApi(api)

    # -- TLS and the bearer token
    token = yamlmini.load(open(KUBECONFIG).read())["users"][0]["user"]["token"]
    nss = core.list_namespace()
    record("python client lists namespaces over TLS", "default" in [n.metadata.name for n in nss.items])
    stats = control("/_lifeboat/stats")
    record("the bearer token arrives", stats.get("lastAuthorization") == "Bearer " + token,
           "lastAuthorization=%r" % stats.get("lastAuthorization"))

    # -- a CRD, read by yamlmini (and compared with PyYAML when present)
    crd = yamlmini.load(open(os.path.join(HERE, "testdata", "databasebackup-crd.yaml")).read())
    try:
        import yaml
        record("yamlmini reads the CRD as PyYAML does",
               yaml.safe_load(open(os.path.join(HERE, "testdata", "databasebackup-crd.yaml"))) == crd)
    except ImportError:
        pass
    ext.create_custom_resource_definition(crd)
    for _ in range(50):
        got = ext.read_custom_resource_definition("databasebackups.lifeboat.dev")
        if any(c.type == "Established" and c.status == "True" for c in (got.status.conditions or [])):
            break
        time.sleep(0.1)
    record("CRD Established", any(c.type == "Established" and c.status == "True"
                                  for c in (got.status.conditions or [])))

    # -- list + watch of a custom object
    g, v, ns, plural = "lifeboat.dev", "v1alpha1", "default", "databasebackups"
    lst = custom.list_namespaced_custom_object(g, v, ns, plural)
    rv = lst["metadata"]["resourceVersion"]
    events, done, errors, w = collect(
        custom.list_namespaced_custom_object, (g, v, ns, plural),
        {"resource_version": rv, "allow_watch_bookmarks": True, "timeout_seconds": 20},
        lambda evs: any(e["type"] == "DELETED" for e in evs) and any(e["type"] == "BOOKMARK" for e in evs), 20)
    time.sleep(0.3)
    body = {"apiVersion": "lifeboat.dev/v1alpha1", "kind": "DatabaseBackup", "metadata": {"name": "py"},
            "spec": {"database": {"host": "db", "database": "shop"}, "storage": {"s3": {"bucket": "backups"}}}}
    custom.create_namespaced_custom_object(g, v, ns, plural, body)
    custom.patch_namespaced_custom_object_status(g, v, ns, plural, "py", {"status": {"phase": "Running"}})
    time.sleep(1.5)  # let a BOOKMARK through (interval 1s)
    custom.delete_namespaced_custom_object(g, v, ns, plural, "py")
    done.wait(15)
    w.stop()
    types = [e["type"] for e in events if e["type"] != "BOOKMARK" and name_of(e) == "py"]
    record("custom object watch: ADDED, MODIFIED, DELETED in order", types == ["ADDED", "MODIFIED", "DELETED"],
           "events %s, errors %s" % (types, errors))
    record("custom object watch: a BOOKMARK arrives", any(e["type"] == "BOOKMARK" for e in events),
           "events %s" % [e["type"] for e in events])
    mod = [e for e in events if e["type"] == "MODIFIED" and name_of(e) == "py"]
    record("the MODIFIED event carries the status", bool(mod) and mod[0]["object"].get("status", {}).get("phase")
           == "Running")
    rvs = [(e["type"], int(e["object"]["metadata"]["resourceVersion"])) for e in events]
    changes = [rv for t, rv in rvs if t != "BOOKMARK"]
    record("resourceVersions increase along the watch (bookmarks never go back)",
           all(a < b for a, b in zip(changes, changes[1:])) and all(a[1] <= b[1] for a, b in zip(rvs, rvs[1:])),
           "%s" % rvs)

    # -- list + watch of a ConfigMap (typed objects)
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    events, done, errors, w = collect(
        core.list_namespaced_config_map, (ns,),
        {"resource_version": rv, "allow_watch_bookmarks": True, "timeout_seconds": 20},
        lambda evs: any(e["type"] == "DELETED" for e in evs), 20)
    time.sleep(0.3)
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="pycm"),
                                                             data={"a": "1"}))
    core.patch_namespaced_config_map("pycm", ns, {"data": {"a": "2"}})
    core.delete_namespaced_config_map("pycm", ns)
    done.wait(15)
    w.stop()
    seen = [(e["type"], e["object"].data.get("a") if e["object"].data else None) for e in events
            if e["type"] != "BOOKMARK" and name_of(e) == "pycm"]
    record("ConfigMap watch: ADDED, MODIFIED, DELETED", [t for t, _ in seen] == ["ADDED", "MODIFIED", "DELETED"],
           "events %s, errors %s" % (seen, errors))
    record("ConfigMap watch: typed objects decoded", seen[:2] == [("ADDED", "1"), ("MODIFIED", "2")], "%s" % seen)

    # -- a conflict surfaces as ApiException 409
    cm = core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="rv")))
    core.patch_namespaced_config_map("rv", ns, {"data": {"x": "1"}})
    try:
        cm.data = {"x": "2"}
        core.replace_namespaced_config_map("rv", ns, cm)
        record("a stale update raises ApiException 409", False, "no exception")
    except ApiException as e:
        record("a stale update raises ApiException 409", e.status == 409 and "Conflict" in e.body, e.body)

    # -- 410 Gone after a simulated restart
    old = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="later")))
    control("/_lifeboat/restart", "POST")
    try:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=old, timeout_seconds=3):
            pass
        record("a watch from before the restart raises 410 Gone", False, "no exception")
    except ApiException as e:
        record("a watch from before the restart raises 410 Gone", e.status == 410, "status %s" % e.status)
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        import traceback
        traceback.print_exc()
        record("python client test ran to the end", False, repr(e))
        sys.exit(1)
    sys.exit(0)
