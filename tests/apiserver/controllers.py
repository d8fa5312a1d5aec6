"""The built-in controllers that a cluster runs beside the API server.

Owns:
- the garbage collector: ownerReference cascades (Background: dependents go
  after the owner; Foreground: the owner keeps `foregroundDeletion` until
  dependents with blockOwnerDeletion are gone; Orphan: the `orphan`
  finalizer strips ownerReferences first), and deletion of dependents whose
  owners are all absent;
- the namespace controller: a deleted namespace (phase Terminating) has its
  content deleted, then is finalized and removed; every new namespace gets
  a `default` ServiceAccount;
- the CRD finalizer: deleting a CRD deletes its custom resources first.
Each runs on the store's event stream, plus a resync every second.
"""

import queue
import threading

from errors import ApiError

CRD_KEY = "apiextensions.k8s.io/customresourcedefinitions"
CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


class Controllers:
    def __init__(self, store, registry, log):
        self.store = store
        self.registry = registry
        self.log = log
        self.q = store.subscribe()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="controllers", daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                ev = self.q.get(timeout=1.0)
            except queue.Empty:
                self._guard(self.resync)
                continue
            self._guard(self.handle, *ev)

    def _guard(self, fn, *args):
        try:
            fn(*args)
        except ApiError as e:
            if e.code not in (404, 409):
                self.log("controllers: %s" % e.message)
        except Exception as e:  # keep the controller alive whatever happens
            self.log("controllers: %r" % (e,))

    def _rt(self, key):
        return self.registry.any_version(key)

    def handle(self, etype, key, obj, old):
        m = obj.get("metadata") or {}
        if key == "/namespaces":
            if etype == "ADDED":
                self._default_sa(m["name"])
            if m.get("deletionTimestamp") and etype != "DELETED":
                self.sweep_namespace(m["name"])
        if key == CRD_KEY and etype != "DELETED" and m.get("deletionTimestamp"):
            self.cleanup_crd(obj)
        if etype == "DELETED":
            for dkey, ns, name, dep, ref in self.store.dependents(m.get("uid")):
                self.check_owners(dkey, dep)
            for ref in m.get("ownerReferences") or []:
                owner = self.store.by_uid(ref.get("uid"))
                if owner and "foregroundDeletion" in (owner["metadata"].get("finalizers") or []):
                    self._owner_finalizers(self._key_of(owner), owner)
            ns = m.get("namespace")
            if ns:
                nsobj = self.store.try_get("/namespaces", "", ns)
                if nsobj and nsobj["metadata"].get("deletionTimestamp"):
                    self.sweep_namespace(ns)
            return
        if m.get("deletionTimestamp"):
            self._owner_finalizers(key, obj)
        if m.get("ownerReferences"):
            self.check_owners(key, obj)

    def _key_of(self, obj):
        with self.store.lock:
            loc = self.store.uids.get(obj["metadata"].get("uid"))
        return loc[0] if loc else None

    def resync(self):
        for key in list(self.store.data.keys()):
            for obj in self.store.items(key):
                m = obj.get("metadata") or {}
                if m.get("deletionTimestamp"):
                    if key == "/namespaces":
                        self.sweep_namespace(m["name"])
                    elif key == CRD_KEY:
                        self.cleanup_crd(obj)
                    else:
                        self._owner_finalizers(key, obj)
                if m.get("ownerReferences"):
                    self.check_owners(key, obj)

    # --- garbage collection ---------------------------------------------------

    def _owner_present(self, dep_ns, ref):
        rt = self.registry.by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if rt is None:
            return True  # unknown kind: the real GC cannot resolve it either, and leaves the object alone
        owner = self.store.try_get(rt.storage_key, dep_ns if rt.namespaced else "", ref.get("name"))
        return owner is not None and owner["metadata"].get("uid") == ref.get("uid")

    def check_owners(self, key, obj):
        m = obj["metadata"]
        refs = m.get("ownerReferences") or []
        if not refs:
            return
        absent = [r for r in refs if not self._owner_present(m.get("namespace", ""), r)]
        if not absent:
            return
        rt = self._rt(key)
        if rt is None:
            return
        if len(absent) == len(refs):
            if not m.get("deletionTimestamp"):
                self.store.delete(rt, m.get("namespace", ""), m["name"], {"propagationPolicy": "Background"})
            return
        gone_uids = {r.get("uid") for r in absent}

        def strip(cur):
            if cur is None:
                return cur
            cur["metadata"]["ownerReferences"] = [r for r in cur["metadata"].get("ownerReferences") or []
                                                  if r.get("uid") not in gone_uids]
            return cur
        self.store.internal_mutate(key, m.get("namespace", ""), m["name"], strip)

    def _owner_finalizers(self, key, owner):
        m = owner["metadata"]
        fins = m.get("finalizers") or []
        uid = m.get("uid")
        if "orphan" in fins:
            for dkey, ns, name, dep, ref in self.store.dependents(uid):
                def strip(cur):
                    if cur is not None:
                        cur["metadata"]["ownerReferences"] = [
                            r for r in cur["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                    return cur
                self.store.internal_mutate(dkey, ns, name, strip)
            self._remove_finalizer(key, owner, "orphan")
        if "foregroundDeletion" in fins:
            blocking = 0
            for dkey, ns, name, dep, ref in self.store.dependents(uid):
                drt = self._rt(dkey)
                if drt is not None and not dep["metadata"].get("deletionTimestamp"):
                    try:
                        self.store.delete(drt, ns, name, {"propagationPolicy": "Foreground"})
                    except ApiError:
                        pass
                if ref.get("blockOwnerDeletion"):
                    blocking += 1
            if blocking == 0:
                self._remove_finalizer(key, owner, "foregroundDeletion")

    def _remove_finalizer(self, key, obj, fin):
        m = obj["metadata"]

        def drop(cur):
            if cur is not None:
                cur["metadata"]["finalizers"] = [f for f in cur["metadata"].get("finalizers") or [] if f != fin]
            return cur
        self.store.internal_mutate(key, m.get("namespace", ""), m["name"], drop)

    # --- namespaces -----------------------------------------------------------

    def _default_sa(self, ns):
        rt = self.registry.find("", "v1", "serviceaccounts")
        if self.store.try_get(rt.storage_key, ns, "default") is None:
            try:
                self.store.create(rt, ns, {"metadata": {"name": "default"}}, {"internal": True})
            except ApiError:
                pass

    def sweep_namespace(self, ns):
        remaining = 0
        for key in list(self.store.data.keys()):
            rt = self._rt(key)
            if rt is None or not rt.namespaced:
                continue
            for obj in self.store.items(key, ns):
                remaining += 1
                if not obj["metadata"].get("deletionTimestamp"):
                    try:
                        self.store.delete(rt, ns, obj["metadata"]["name"], {"propagationPolicy": "Background"})
                    except ApiError:
                        pass
        if remaining:
            still = sum(len(self.store.items(k, ns)) for k in list(self.store.data.keys())
                        if self._rt(k) is not None and self._rt(k).namespaced)
            if still:
                return

        def finalize(cur):
            if cur is not None:
                cur.setdefault("spec", {})["finalizers"] = []
            return cur
        self.store.internal_mutate("/namespaces", "", ns, finalize, "finalize")

    # --- CRDs -----------------------------------------------------------------

    def cleanup_crd(self, crd):
        if CRD_FINALIZER not in (crd["metadata"].get("finalizers") or []):
            return
        spec = crd.get("spec") or {}
        key = spec.get("group", "") + "/" + (spec.get("names") or {}).get("plural", "")
        rt = self._rt(key)
        left = 0
        if rt is not None:
            for obj in self.store.items(key):
                left += 1
                if not obj["metadata"].get("deletionTimestamp"):
                    try:
                        self.store.delete(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"],
                                          {"propagationPolicy": "Background"})
                    except ApiError:
                        pass
            left = len(self.store.items(key))
        if left == 0:
            self._remove_finalizer(CRD_KEY, crd, CRD_FINALIZER)
