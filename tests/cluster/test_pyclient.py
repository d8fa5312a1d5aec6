#!/usr/bin/python3
"""python3-kubernetes against the real test cluster (tests/cluster/up).

Run by tests/cluster/test-clients.sh with Debian's /usr/bin/python3 (the
python3-kubernetes package). Checks, against the real kube-apiserver:
- the admin kubeconfig (TLS, a client certificate in system:masters);
- a bearer-token configuration: a kubeconfig holding a TokenRequest token of
  a ServiceAccount bound to a ClusterRole on databasebackups only (what it
  may and may not do, SelfSubjectAccessReview);
- list + kubernetes.watch.Watch of custom objects: ADDED, MODIFIED, DELETED
  and a BOOKMARK (allow_watch_bookmarks: the real watch cache sends one
  about 2 s before the watch's timeout, once something happened), and the
  WatchList form (sendInitialEvents, resourceVersionMatch=NotOlderThan: the
  initial objects, then the k8s.io/initial-events-end bookmark);
- a typed ConfigMap watch, a stale update (409);
- 410 Gone for a watch from a resourceVersion older than an etcd compaction,
  after tests/cluster/restart-apiserver, and that a relist recovers.

Records "PASS suite: name" / "FAIL suite: name: why" lines in
$LIFEBOAT_RESULTS, like tests/lib/t.sh.
Environment: KUBECONFIG (admin), LIFEBOAT_CLUSTER_DIR, CLUSTER_CA,
APISERVER_URL, PY_NAMESPACE (exists, created by the caller),
PY_RESTART (the restart-apiserver command, required: the 410 checks use it),
T_SUITE, LIFEBOAT_RESULTS.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from kubernetes import client, config, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

SUITE = os.environ.get("T_SUITE", "clients")
RESULTS = os.environ.get("LIFEBOAT_RESULTS", "/dev/null")
KUBECONFIG = os.environ["KUBECONFIG"]
CLUSTER_DIR = os.environ["LIFEBOAT_CLUSTER_DIR"]
CA = os.environ["CLUSTER_CA"]
URL = os.environ["APISERVER_URL"]
NS = os.environ["PY_NAMESPACE"]
RESTART = os.environ.get("PY_RESTART", "")
G, V, PLURAL = "lifeboat.dev", "v1alpha1", "databasebackups"
P = "python: "
failures = 0


def record(name, ok, why=""):
    global failures
    name = P + name
    line = "PASS %s: %s" % (SUITE, name) if ok else "FAIL %s: %s: %s" % (SUITE, name, str(why)[-1500:])
    failures += 0 if ok else 1
    with open(RESULTS, "a") as f:
        f.write(line + "\n")
    print("  ok   %s" % name if ok else "  FAIL %s: %s" % (name, why))


def backup(name):
    return {"apiVersion": "%s/%s" % (G, V), "kind": "DatabaseBackup", "metadata": {"name": name},
            "spec": {"database": {"host": "db", "database": "shop"}, "storage": {"s3": {"bucket": "backups"}}}}


def collect(stream_fn, args, kwargs, until):
    """Runs a watch in a thread; returns (events, done, errors, watch)."""
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
    threading.Thread(target=run, daemon=True).start()
    return events, done, errors, w


def name_of(ev):
    obj = ev["object"]
    if isinstance(obj, dict):
        return (obj.get("metadata") or {}).get("name")
    return obj.metadata.name if obj.metadata else None


def annotations_of(ev):
    obj = ev["raw_object"]
    return (obj.get("metadata") or {}).get("annotations") or {}


def retrying(fn, what, seconds=30):
    """fn() until it stops failing with 429/5xx or a connection error (an
    apiserver that has just restarted: its watch cache may still be
    initialising, which the real server answers with 429)."""
    end = time.time() + seconds
    while True:
        try:
            return fn()
        except ApiException as e:
            if e.status not in (429, 500, 503, 504) or time.time() > end:
                raise
        except Exception:  # urllib3 connection errors while it comes up
            if time.time() > end:
                raise
        time.sleep(0.5)


def token_config(api, core, rbac):
    """A ServiceAccount bound to a ClusterRole on databasebackups, a
    TokenRequest token for it, and a kubeconfig file holding only that token
    and the CA. Returns (ApiClient, username, cleanup)."""
    sa, role = "py-watcher", "lifeboat-clients-py-" + NS
    core.create_namespaced_service_account(NS, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=sa)))
    rbac.create_cluster_role(client.V1ClusterRole(
        metadata=client.V1ObjectMeta(name=role),
        rules=[client.V1PolicyRule(api_groups=[G], resources=[PLURAL, PLURAL + "/status"],
                                   verbs=["get", "list", "watch", "create", "patch", "delete"])]))
    rbac.create_cluster_role_binding(client.V1ClusterRoleBinding(
        metadata=client.V1ObjectMeta(name=role),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role),
        subjects=[client.V1Subject(kind="ServiceAccount", name=sa, namespace=NS)]))

    def cleanup():
        for fn in (rbac.delete_cluster_role_binding, rbac.delete_cluster_role):
            try:
                fn(role)
            except ApiException:
                pass

    tr = core.create_namespaced_service_account_token(sa, NS, client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)))
    token = tr.status.token
    record("TokenRequest gives a token with an expiry", bool(token) and tr.status.expiration_timestamp is not None,
           "status %s" % tr.status)
    kc = {"apiVersion": "v1", "kind": "Config",
          "clusters": [{"name": "c", "cluster": {"server": URL, "certificate-authority": CA}}],
          "users": [{"name": sa, "user": {"token": token}}],
          "contexts": [{"name": "c", "context": {"cluster": "c", "user": sa, "namespace": NS}}],
          "current-context": "c"}
    fd, path = tempfile.mkstemp(prefix="token-kubeconfig-", dir=os.environ.get("TMPDIR", "/tmp"))
    with os.fdopen(fd, "w") as f:
        json.dump(kc, f)  # JSON is YAML
    try:
        tapi = config.new_client_from_config(config_file=path)
    finally:
        os.unlink(path)
    c = tapi.configuration
    record("the token kubeconfig configures a bearer token and no client certificate",
           c.api_key.get("authorization") == "Bearer " + token and not c.cert_file,
           "api_key %r, cert_file %r" % (list(c.api_key), c.cert_file))
    return tapi, "system:serviceaccount:%s:%s" % (NS, sa), cleanup


def main():
    # -- the admin kubeconfig: TLS with a client certificate
    config.load_kube_config(config_file=KUBECONFIG)
    api = client.ApiClient()
    cfg = api.configuration
    record("admin kubeconfig: a client certificate, a CA, no token",
           bool(cfg.cert_file) and bool(cfg.key_file) and bool(cfg.ssl_ca_cert) and cfg.verify_ssl
           and not cfg.api_key, "cert %r ca %r api_key %r" % (cfg.cert_file, cfg.ssl_ca_cert, cfg.api_key))
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    ver = client.VersionApi(api).get_code()
    record("the server reports v1.34.4", ver.git_version == "v1.34.4", ver.git_version)
    nss = [n.metadata.name for n in core.list_namespace().items]
    record("lists namespaces over TLS", "kube-system" in nss and NS in nss, nss)
    crd = client.ApiextensionsV1Api(api).read_custom_resource_definition("%s.%s" % (PLURAL, G))
    record("reads the DatabaseBackup CRD as Established",
           any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])),
           crd.status.conditions)

    # -- the bearer-token configuration
    tapi, user, cleanup = token_config(api, core, client.RbacAuthorizationV1Api(api))
    try:
        token_checks(tapi, user, custom, core)
    finally:
        cleanup()

    # -- a typed ConfigMap watch (admin)
    rv = core.list_namespaced_config_map(NS).metadata.resource_version
    events, done, errors, w = collect(
        core.list_namespaced_config_map, (NS,), {"resource_version": rv, "timeout_seconds": 20},
        lambda evs: any(e["type"] == "DELETED" for e in evs))
    core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="pycm"),
                                                             data={"a": "1"}))
    core.patch_namespaced_config_map("pycm", NS, {"data": {"a": "2"}})
    core.delete_namespaced_config_map("pycm", NS)
    done.wait(20)
    w.stop()
    seen = [(e["type"], (e["object"].data or {}).get("a")) for e in events
            if e["type"] != "BOOKMARK" and name_of(e) == "pycm"]
    record("ConfigMap watch: ADDED, MODIFIED, DELETED", [t for t, _ in seen] == ["ADDED", "MODIFIED", "DELETED"],
           "events %s, errors %s" % (seen, errors))
    record("ConfigMap watch: typed V1ConfigMap objects", seen[:2] == [("ADDED", "1"), ("MODIFIED", "2")]
           and all(isinstance(e["object"], client.V1ConfigMap) for e in events if e["type"] != "BOOKMARK"), seen)

    # -- a stale update surfaces as ApiException 409
    cm = core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="rv")))
    core.patch_namespaced_config_map("rv", NS, {"data": {"x": "1"}})
    try:
        cm.data = {"x": "2"}
        core.replace_namespaced_config_map("rv", NS, cm)
        record("a stale update raises ApiException 409", False, "no exception")
    except ApiException as e:
        record("a stale update raises ApiException 409 Conflict",
               e.status == 409 and "the object has been modified" in e.body, e.body)

    # -- 410 Gone after a compaction and an apiserver restart
    if not RESTART:
        record("410 Gone: PY_RESTART names restart-apiserver", False, "PY_RESTART is empty")
        return
    old_cm = core.list_namespaced_config_map(NS).metadata.resource_version
    old_cr = custom.list_namespaced_custom_object(G, V, NS, PLURAL)["metadata"]["resourceVersion"]
    core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="later")))
    custom.create_namespaced_custom_object(G, V, NS, PLURAL, backup("later"))
    r = subprocess.run(["timeout", "120"] + RESTART.split() + [CLUSTER_DIR], capture_output=True, text=True)
    record("restart-apiserver (etcd compacted, kube-apiserver restarted)", r.returncode == 0, r.stdout + r.stderr)

    def watch_from(fn, args, rv):
        def go():
            for _ in watch.Watch().stream(fn, *args, resource_version=rv, timeout_seconds=3):
                pass
            return None
        try:
            return retrying(go, "watch")
        except ApiException as e:
            return e

    e = watch_from(core.list_namespaced_config_map, (NS,), old_cm)
    record("a ConfigMap watch from before the compaction raises ApiException 410",
           isinstance(e, ApiException) and e.status == 410, repr(e))
    record("the 410 says the resourceVersion is too old",
           isinstance(e, ApiException) and "too old resource version" in str(e.reason), repr(e))
    e = watch_from(custom.list_namespaced_custom_object, (G, V, NS, PLURAL), old_cr)
    record("a custom-object watch from before the compaction raises ApiException 410",
           isinstance(e, ApiException) and e.status == 410, repr(e))
    # The client's recovery: relist, then watch from the list's resourceVersion.
    lst = retrying(lambda: custom.list_namespaced_custom_object(G, V, NS, PLURAL), "list")
    names = [o["metadata"]["name"] for o in lst["items"]]
    events, done, errors, w = collect(
        custom.list_namespaced_custom_object, (G, V, NS, PLURAL),
        {"resource_version": lst["metadata"]["resourceVersion"], "timeout_seconds": 15},
        lambda evs: any(e["type"] == "MODIFIED" for e in evs))
    time.sleep(0.3)
    retrying(lambda: custom.patch_namespaced_custom_object(G, V, NS, PLURAL, "later",
                                                           {"metadata": {"labels": {"after": "restart"}}}), "patch")
    done.wait(15)
    w.stop()
    record("after the 410: a relist has the objects and a watch from it works",
           "later" in names and any(e["type"] == "MODIFIED" and name_of(e) == "later" for e in events),
           "names %s, events %s, errors %s" % (names, [e["type"] for e in events], errors))


def token_checks(tapi, user, admin_custom, admin_core):
    custom = client.CustomObjectsApi(tapi)
    core = client.CoreV1Api(tapi)
    lst = retrying(lambda: custom.list_namespaced_custom_object(G, V, NS, PLURAL), "list", 10)
    record("token: lists databasebackups", "items" in lst, lst)
    try:
        core.list_namespaced_config_map(NS)
        record("token: listing configmaps is Forbidden (403) naming the user", False, "allowed")
    except ApiException as e:
        record("token: listing configmaps is Forbidden (403) naming the user",
               e.status == 403 and ('User "%s" cannot list resource "configmaps"' % user)
               in json.loads(e.body).get("message", ""), e.body)
    authz = client.AuthorizationV1Api(tapi)

    def can(verb, resource, group):
        r = authz.create_self_subject_access_review(client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=client.V1ResourceAttributes(
                namespace=NS, verb=verb, resource=resource, group=group))))
        return r.status.allowed
    record("token: SelfSubjectAccessReview agrees (watch dbb yes, list secrets no)",
           can("watch", PLURAL, G) is True and can("list", "secrets", "") is False)

    # list + watch with the token: ADDED, MODIFIED (status), DELETED, BOOKMARK.
    rv = lst["metadata"]["resourceVersion"]
    t0 = time.time()
    events, done, errors, w = collect(
        custom.list_namespaced_custom_object, (G, V, NS, PLURAL),
        {"resource_version": rv, "allow_watch_bookmarks": True, "timeout_seconds": 6},
        lambda evs: any(e["type"] == "DELETED" for e in evs) and any(e["type"] == "BOOKMARK" for e in evs))
    time.sleep(0.3)
    custom.create_namespaced_custom_object(G, V, NS, PLURAL, backup("py"))
    custom.patch_namespaced_custom_object_status(G, V, NS, PLURAL, "py", {"status": {"phase": "Running"}})
    custom.delete_namespaced_custom_object(G, V, NS, PLURAL, "py")
    done.wait(15)
    w.stop()
    took = time.time() - t0
    types = [e["type"] for e in events if e["type"] != "BOOKMARK" and name_of(e) == "py"]
    record("token: custom object watch sees ADDED, MODIFIED, DELETED in order",
           types == ["ADDED", "MODIFIED", "DELETED"], "events %s, errors %s" % (types, errors))
    mod = [e for e in events if e["type"] == "MODIFIED" and name_of(e) == "py"]
    record("the MODIFIED event carries the status",
           bool(mod) and mod[0]["object"].get("status", {}).get("phase") == "Running", mod)
    bms = [e for e in events if e["type"] == "BOOKMARK"]
    record("allow_watch_bookmarks: a BOOKMARK arrives before the watch's timeout (6 s)", bool(bms),
           "events %s after %.1fs, errors %s" % ([e["type"] for e in events], took, errors))
    rvs = [(e["type"], int(e["raw_object"]["metadata"]["resourceVersion"])) for e in events]
    changes = [r for t, r in rvs if t != "BOOKMARK"]
    record("resourceVersions increase along the watch; the bookmark's is the latest",
           all(a < b for a, b in zip(changes, changes[1:])) and bool(bms) and rvs[-1][0] == "BOOKMARK"
           and rvs[-1][1] >= changes[-1], rvs)
    record("a BOOKMARK's object has only kind, apiVersion and metadata.resourceVersion",
           bool(bms) and set(bms[0]["raw_object"]) == {"kind", "apiVersion", "metadata"}
           and set(bms[0]["raw_object"]["metadata"]) <= {"resourceVersion", "annotations"},
           bms[0]["raw_object"] if bms else None)

    # WatchList: sendInitialEvents. python3-kubernetes 22 has no parameter
    # for it, so a function in the generated client's style (watch.Watch
    # adds watch=True and _preload_content=False) calls the ApiClient.
    admin_custom.create_namespaced_custom_object(G, V, NS, PLURAL, backup("initial"))

    def list_sending_initial_events(watch=False, _preload_content=True, timeout_seconds=None):
        query = [("watch", watch), ("sendInitialEvents", True), ("allowWatchBookmarks", True),
                 ("resourceVersionMatch", "NotOlderThan"), ("timeoutSeconds", timeout_seconds)]
        return tapi.call_api("/apis/{group}/{version}/namespaces/{namespace}/{plural}", "GET",
                             path_params={"group": G, "version": V, "namespace": NS, "plural": PLURAL},
                             query_params=query, header_params={"Accept": "application/json"},
                             response_type="object", auth_settings=["BearerToken"],
                             _return_http_data_only=True, _preload_content=_preload_content)
    events, done, errors, w = collect(
        list_sending_initial_events, (), {"timeout_seconds": 10},
        lambda evs: any(e["type"] == "BOOKMARK" and annotations_of(e).get("k8s.io/initial-events-end") == "true"
                        for e in evs))
    done.wait(12)
    w.stop()
    kinds = [(e["type"], name_of(e)) for e in events]
    record("sendInitialEvents: the existing objects come as ADDED",
           ("ADDED", "initial") in kinds, "events %s, errors %s" % (kinds, errors))
    end = [i for i, e in enumerate(events)
           if e["type"] == "BOOKMARK" and annotations_of(e).get("k8s.io/initial-events-end") == "true"]
    record("sendInitialEvents: then the k8s.io/initial-events-end BOOKMARK (WatchList is on in 1.34)",
           bool(end) and all(e["type"] == "ADDED" for e in events[:end[0]]), "events %s" % kinds)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        import traceback
        traceback.print_exc()
        record("python client test ran to the end", False, repr(e))
        sys.exit(1)
    sys.exit(1 if failures else 0)
