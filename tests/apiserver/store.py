"""The in-memory object store, with etcd's and the registry's semantics.

Owns: objects per storage key (group/resource), one global monotonically
increasing resourceVersion, create/update/mutate/delete with resourceVersion
preconditions (409 Conflict), generation bumps on spec changes, the status
subresource split, finalizers and deletionTimestamp (deletion waits for the
last finalizer; setting deletionTimestamp bumps generation, as the real
registry's markAsDeleting does), propagationPolicy finalizers (orphan,
foregroundDeletion), no-op updates that keep the resourceVersion, an event
history per storage key for watches (a bounded window; older
resourceVersions get 410 Gone), watchers, and event fan-out to controllers.

Stored objects are never mutated after they are stored: every write makes a
new dict, so events can share them with watch threads.
"""

import base64
import collections
import copy
import datetime
import json
import queue
import random
import threading
import uuid

import managed
from errors import ApiError, already_exists, bad_request, forbidden_error, gone, invalid_object, not_found, stale
from kinds import validate_object_meta

GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(n=5):
    return "".join(random.choice(GENERATE_ALPHABET) for _ in range(n))


def _strip_volatile(obj):
    o = copy.deepcopy(obj)
    m = o.get("metadata") or {}
    m.pop("resourceVersion", None)
    m.pop("managedFields", None)
    return o


class Watcher:
    """One open watch: a queue of ("ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|
    "ERROR", object) fed by the store under its lock, so events arrive in
    resourceVersion order."""

    def __init__(self, rt, namespace, label_pred, field_pred, since_rv):
        self.rt = rt
        self.namespace = namespace
        self.label_pred = label_pred
        self.field_pred = field_pred
        self.since_rv = since_rv
        self.q = queue.Queue()
        self.dropped = False
        self.closed = False

    def matches(self, obj):
        if obj is None:
            return False
        m = obj.get("metadata") or {}
        if self.namespace and m.get("namespace") != self.namespace:
            return False
        return self.label_pred(m.get("labels") or {}) and self.field_pred(self.rt.field_values(obj))

    def offer(self, etype, obj, old, rv):
        """Turns a store event into what this watcher sees: an object that
        starts (stops) matching the selectors shows as ADDED (DELETED)."""
        if rv <= self.since_rv:
            return
        now_in = self.matches(obj)
        if etype == "DELETED":
            if now_in:
                self.q.put(("DELETED", obj))
            return
        was_in = self.matches(old) if old is not None else False
        if now_in and was_in:
            self.q.put(("MODIFIED", obj))
        elif now_in:
            self.q.put(("ADDED", obj))
        elif was_in:
            self.q.put(("DELETED", obj))

    def drop(self):
        """Ends the watch abruptly (a fault, or a simulated restart)."""
        self.dropped = True
        self.q.put(None)


class Store:
    def __init__(self, registry, history_size=1000):
        self.registry = registry
        self.lock = threading.RLock()
        self.rv = 100
        self.data = collections.defaultdict(dict)  # storage key -> {(ns, name): obj}
        self.history_size = history_size
        self.history = collections.defaultdict(collections.deque)  # key -> deque[(rv, type, obj, old)]
        self.floor = collections.defaultdict(int)  # key -> oldest rv a watch may start from
        self.global_floor = 0
        self.watchers = collections.defaultdict(set)
        self.subscribers = []
        self.hooks = []  # called synchronously, under the lock, on every event
        self.uids = {}  # uid -> (key, ns, name)

    # --- reading ------------------------------------------------------------

    def current_rv(self):
        with self.lock:
            return self.rv

    def get(self, rt, ns, name):
        with self.lock:
            obj = self.data[rt.storage_key].get((ns or "", name))
            if obj is None:
                raise not_found(rt.group, rt.resource, name)
            return obj

    def try_get(self, key, ns, name):
        with self.lock:
            return self.data[key].get((ns or "", name))

    def by_uid(self, uid):
        with self.lock:
            loc = self.uids.get(uid)
            return self.data[loc[0]].get((loc[1], loc[2])) if loc else None

    def items(self, key, ns=None):
        with self.lock:
            return [o for (n, _), o in sorted(self.data[key].items()) if ns is None or n == ns]

    def list(self, rt, ns, label_pred, field_pred, limit=0, cont=None):
        """Returns (items, resourceVersion, continue token, remaining count).
        A continue token resumes after the last name at the current state
        (not a snapshot of the first page's resourceVersion)."""
        with self.lock:
            rv = self.rv
            keys = sorted(self.data[rt.storage_key])
            start_after = None
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont + "==").decode())
                    start_after = tuple(tok["start"])
                    if int(tok["rv"]) < max(self.global_floor, self.floor[rt.storage_key]):
                        raise gone("The provided continue parameter is too old to display a consistent list "
                                   "result. You can start a new list without the continue parameter, or use the "
                                   "continue token in this response to retrieve the remainder of the results.")
                except ApiError:
                    raise
                except (ValueError, KeyError, TypeError):
                    raise bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                      "(version meta.k8s.io/v1)")
            out, token, remaining = [], "", None
            matching = []
            for k in keys:
                if ns and k[0] != ns:
                    continue
                if start_after is not None and list(k) <= list(start_after):
                    continue
                obj = self.data[rt.storage_key][k]
                m = obj.get("metadata") or {}
                if label_pred(m.get("labels") or {}) and field_pred(rt.field_values(obj)):
                    matching.append((k, obj))
            if limit and len(matching) > limit:
                last = matching[limit - 1][0]
                remaining = len(matching) - limit
                matching = matching[:limit]
                token = base64.urlsafe_b64encode(
                    json.dumps({"rv": rv, "start": list(last)}).encode()).decode().rstrip("=")
            out = [o for _, o in matching]
            return out, rv, token, remaining

    # --- watching -----------------------------------------------------------

    def watch(self, rt, ns, label_pred, field_pred, since, send_initial=None):
        """Opens a watch. `since` is the resourceVersion string the client
        gave ("" or "0": start with the current objects as ADDED)."""
        with self.lock:
            key = rt.storage_key
            if since in (None, "", "0") or send_initial:
                w = Watcher(rt, ns, label_pred, field_pred, self.rv)
                for (n, _), obj in sorted(self.data[key].items()):
                    if w.matches(obj):
                        w.q.put(("ADDED", obj))
                if send_initial:
                    w.q.put(("BOOKMARK-INITIAL", self.rv))
            else:
                try:
                    want = int(since)
                except ValueError:
                    raise bad_request('invalid resource version: strconv.ParseUint: parsing "%s": invalid syntax'
                                      % since)
                oldest = max(self.global_floor, self.floor[key])
                if want < oldest:
                    raise gone("too old resource version: %d (%d)" % (want, oldest))
                w = Watcher(rt, ns, label_pred, field_pred, want)
                for rv, etype, obj, old in self.history[key]:
                    w.offer(etype, obj, old, rv)
            self.watchers[key].add(w)
            return w

    def unwatch(self, w):
        with self.lock:
            self.watchers[w.rt.storage_key].discard(w)
            w.closed = True

    def bookmark(self, w):
        """Queues a BOOKMARK at the current resourceVersion (in order)."""
        with self.lock:
            w.q.put(("BOOKMARK", self.rv))

    def open_watches(self):
        with self.lock:
            return [w for ws in self.watchers.values() for w in ws]

    def drop_watches(self):
        with self.lock:
            ws = self.open_watches()
            for w in ws:
                w.drop()
            return len(ws)

    def compact(self):
        """Forgets every event: a watch from any older resourceVersion gets 410."""
        with self.lock:
            self.global_floor = self.rv
            self.history.clear()

    def subscribe(self):
        """A queue of (type, key, obj, old) for a controller."""
        q = queue.Queue()
        with self.lock:
            self.subscribers.append(q)
        return q

    def _emit(self, key, etype, obj, old):
        hist = self.history[key]
        hist.append((self.rv, etype, obj, old))
        while len(hist) > self.history_size:
            self.floor[key] = hist.popleft()[0]
        for w in list(self.watchers[key]):
            w.offer(etype, obj, old, self.rv)
        for hook in self.hooks:
            hook(etype, key, obj, old)
        for q in self.subscribers:
            q.put((etype, key, obj, old))

    # --- writing ------------------------------------------------------------

    def _next_rv(self):
        self.rv += 1
        return self.rv

    def _check_namespace(self, rt, ns, name):
        if not rt.namespaced:
            return
        nsobj = self.data["/namespaces"].get(("", ns))
        if nsobj is None:
            raise not_found("", "namespaces", ns)
        if (nsobj.get("metadata") or {}).get("deletionTimestamp"):
            raise forbidden_error(rt.group, rt.resource, name, 'unable to create new content in namespace %s because '
                                  'it is being terminated' % ns)

    def _normalize(self, rt, obj, old, ctx):
        unknown = []
        rt.normalize(obj, old, unknown)
        if unknown:
            mode = ctx.get("field_validation", "Warn")
            if mode == "Strict":
                raise bad_request('%s in version "%s" cannot be handled as a %s: strict decoding error: %s'
                                  % (rt.kind, rt.version, rt.kind,
                                     ", ".join('unknown field "%s"' % u for u in unknown)))
            if mode == "Warn":
                ctx.setdefault("warnings", []).extend('unknown field "%s"' % u for u in unknown)

    @staticmethod
    def _omit_empty(obj):
        """ObjectMeta's omitempty: empty lists and maps are not stored."""
        m = obj.get("metadata") or {}
        for f in ("labels", "annotations", "finalizers", "ownerReferences", "managedFields"):
            if f in m and not m[f]:
                del m[f]

    def _validate(self, rt, obj, old):
        self._omit_empty(obj)
        errs = []
        validate_object_meta(rt, obj, old, errs)
        rt.validate(obj, old, errs)
        if errs:
            raise invalid_object(rt.group, rt.kind, (obj.get("metadata") or {}).get("name", ""), errs)

    def create(self, rt, ns, obj, ctx=None):
        ctx = ctx if ctx is not None else {}
        with self.lock:
            obj = copy.deepcopy(obj)
            m = obj.get("metadata")
            if not isinstance(m, dict):
                m = obj["metadata"] = {}
            if rt.namespaced:
                if m.get("namespace") and ns and m["namespace"] != ns:
                    raise bad_request("the namespace of the provided object does not match the namespace sent on "
                                      "the request")
                ns = ns or m.get("namespace") or "default"
                m["namespace"] = ns
            else:
                m.pop("namespace", None)
                ns = ""
            self._normalize(rt, obj, None, ctx)
            if not m.get("name") and m.get("generateName"):
                for _ in range(8):
                    cand = m["generateName"] + random_suffix()
                    if (ns, cand) not in self.data[rt.storage_key]:
                        break
                m["name"] = cand
            name = m.get("name", "")
            if name:
                self._check_namespace(rt, ns, name)
            for f in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
                m.pop(f, None)
            m["uid"] = str(uuid.uuid4())
            m["creationTimestamp"] = now_rfc3339()
            if rt.has_generation:
                m["generation"] = 1
            else:
                m.pop("generation", None)
            rt.prepare_create(obj, ctx)
            self._validate(rt, obj, None)
            if (ns, name) in self.data[rt.storage_key]:
                raise already_exists(rt.group, rt.resource, name)
            if ctx.get("manager") is not None:
                managed.track_update(rt, None, obj, ctx, "status" if ctx.get("subresource") == "status" else "")
            if ctx.get("dry_run"):
                return obj
            m["resourceVersion"] = str(self._next_rv())
            self.data[rt.storage_key][(ns, name)] = obj
            self.uids[m["uid"]] = (rt.storage_key, ns, name)
            self._emit(rt.storage_key, "ADDED", obj, None)
            return obj

    def update(self, rt, ns, name, new, subresource="", ctx=None, create_missing=False):
        """PUT semantics: a stale metadata.resourceVersion gets 409."""
        def fn(current):
            if current is None and not create_missing:
                raise not_found(rt.group, rt.resource, name)
            return copy.deepcopy(new)
        return self.mutate(rt, ns, name, fn, subresource, ctx, create_missing)

    def mutate(self, rt, ns, name, fn, subresource="", ctx=None, create_missing=False):
        """Read-modify-write under the lock: fn(current or None) -> new
        object. Returns (stored object, created?)."""
        ctx = ctx if ctx is not None else {}
        ctx["subresource"] = subresource
        with self.lock:
            ns = ns if rt.namespaced else ""
            old = self.data[rt.storage_key].get((ns, name))
            new = fn(copy.deepcopy(old) if old is not None else None)
            if old is None:
                if not create_missing:
                    raise not_found(rt.group, rt.resource, name)
                if (new.get("metadata") or {}).get("resourceVersion"):
                    raise not_found(rt.group, rt.resource, name)
                return self.create(rt, ns, new, ctx), True
            m = new.get("metadata")
            if not isinstance(m, dict):
                m = new["metadata"] = {}
            om = old["metadata"]
            if m.get("resourceVersion") and m["resourceVersion"] != om["resourceVersion"]:
                raise stale(rt.group, rt.resource, name)
            if m.get("name", name) != name:
                raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                  % (m.get("name"), name))
            if rt.namespaced and m.get("namespace", ns) != ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                                  "request")
            self._normalize(rt, new, old, ctx)
            for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
                if f in om:
                    m[f] = om[f]
                else:
                    m.pop(f, None)
            m["name"], m["resourceVersion"] = name, om["resourceVersion"]
            if rt.namespaced:
                m["namespace"] = ns
            else:
                m.pop("namespace", None)
            m.pop("selfLink", None)
            if "managedFields" not in m and "managedFields" in om:
                m["managedFields"] = copy.deepcopy(om["managedFields"])
            rt.prepare_update(new, old, subresource)
            if rt.has_generation and subresource != "status" and rt.spec_changed(new, old):
                new["metadata"]["generation"] = om.get("generation", 1) + 1
            self._validate(rt, new, old)
            if ctx.get("manager") is not None:
                managed.track_update(rt, old, new, ctx, subresource if subresource == "status" else "")
            if _strip_volatile(new) == _strip_volatile(old):
                return old, False  # a no-op write keeps the resourceVersion
            if ctx.get("dry_run"):
                return new, False
            nm = new["metadata"]
            if nm.get("deletionTimestamp") and not nm.get("finalizers") and self._deletable(rt, new):
                return self._remove(rt, ns, name, old), False
            nm["resourceVersion"] = str(self._next_rv())
            self.data[rt.storage_key][(ns, name)] = new
            self._emit(rt.storage_key, "MODIFIED", new, old)
            return new, False

    def _deletable(self, rt, obj):
        if rt.resource == "namespaces" and rt.group == "":
            return not (obj.get("spec") or {}).get("finalizers")
        return True

    def _remove(self, rt, ns, name, last):
        gone_obj = copy.deepcopy(last)
        gone_obj["metadata"]["resourceVersion"] = str(self._next_rv())
        del self.data[rt.storage_key][(ns, name)]
        self.uids.pop(gone_obj["metadata"].get("uid"), None)
        self._emit(rt.storage_key, "DELETED", gone_obj, last)
        return gone_obj

    def delete(self, rt, ns, name, opts=None, ctx=None):
        """Returns (object, deleted_now). With finalizers pending the object
        gets deletionTimestamp (and a generation bump) and stays."""
        opts = opts or {}
        ctx = ctx if ctx is not None else {}
        with self.lock:
            ns = ns if rt.namespaced else ""
            old = self.data[rt.storage_key].get((ns, name))
            if old is None:
                raise not_found(rt.group, rt.resource, name)
            om = old["metadata"]
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != om.get("uid"):
                raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                               % (pre["uid"], om.get("uid")), {"name": name, "group": rt.group, "kind": rt.resource})
            if pre.get("resourceVersion") and pre["resourceVersion"] != om.get("resourceVersion"):
                raise ApiError(409, "Conflict", "Precondition failed: ResourceVersion in precondition: %s, "
                               "ResourceVersion in object meta: %s" % (pre["resourceVersion"], om["resourceVersion"]),
                               {"name": name, "group": rt.group, "kind": rt.resource})
            policy = opts.get("propagationPolicy")
            if not policy and opts.get("orphanDependents") is not None:
                policy = "Orphan" if opts["orphanDependents"] else "Background"
            explicit = policy is not None
            policy = policy or rt.gc_default
            if policy not in ("Orphan", "Background", "Foreground"):
                raise ApiError(422, "Invalid", 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                               'Unsupported value: "%s": supported values: "Foreground", "Background", "Orphan"'
                               % policy)
            if rt.gc_default == "Orphan" and not explicit and rt.resource == "jobs":
                ctx.setdefault("warnings", []).append(
                    "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background "
                    "to remove them or set propagationPolicy=Orphan to suppress this warning")
            fins = list(om.get("finalizers") or [])
            new_fins = [f for f in fins if f not in ("orphan", "foregroundDeletion")] if explicit else list(fins)
            has_dependents = any(self._dependents(om.get("uid")))
            if policy == "Orphan" and "orphan" not in new_fins and (explicit or has_dependents):
                new_fins.append("orphan")
            if policy == "Foreground" and "foregroundDeletion" not in new_fins:
                new_fins.append("foregroundDeletion")
            if policy == "Background" and explicit:
                new_fins = [f for f in new_fins if f not in ("orphan", "foregroundDeletion")]
            if policy == "Orphan" and not has_dependents and not explicit:
                new_fins = [f for f in new_fins if f != "orphan"]
            needs_wait = bool(new_fins) or not self._deletable(rt, old)
            if not needs_wait:
                if ctx.get("dry_run"):
                    return old, True
                return self._remove(rt, ns, name, old), True
            new = copy.deepcopy(old)
            nm = new["metadata"]
            if not nm.get("deletionTimestamp"):
                if rt.has_generation:
                    nm["generation"] = nm.get("generation", 1) + 1
                nm["deletionTimestamp"] = now_rfc3339()
            nm["deletionGracePeriodSeconds"] = 0
            if new_fins:
                nm["finalizers"] = new_fins
            else:
                nm.pop("finalizers", None)
            if rt.resource == "namespaces" and rt.group == "":
                new.setdefault("status", {})["phase"] = "Terminating"
            if ctx.get("dry_run") or _strip_volatile(new) == _strip_volatile(old):
                return (new if ctx.get("dry_run") else old), False
            nm["resourceVersion"] = str(self._next_rv())
            self.data[rt.storage_key][(ns, name)] = new
            self._emit(rt.storage_key, "MODIFIED", new, old)
            return new, False

    def _dependents(self, uid):
        if not uid:
            return
        for key, objs in self.data.items():
            for (ns, name), obj in objs.items():
                for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
                    if ref.get("uid") == uid:
                        yield key, ns, name, obj, ref
                        break

    def dependents(self, uid):
        with self.lock:
            return list(self._dependents(uid))

    def internal_mutate(self, key, ns, name, fn, subresource=""):
        """A controller's write, in the storage version, ignoring conflicts
        (retries on the fresh object). Returns the stored object or None."""
        rt = self.registry.any_version(key)
        if rt is None:
            return None
        try:
            obj, _ = self.mutate(rt, ns, name, fn, subresource, {"internal": True})
            return obj
        except ApiError as e:
            if e.code == 404:
                return None
            raise

