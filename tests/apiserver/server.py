"""The HTTP front end: routing, content negotiation, watches, faults, stats.

Owns the REST surface (`/api/v1/...`, `/apis/<g>/<v>/...`, namespaced and
cluster-wide paths, `?watch=true` and the legacy `/watch/` prefix),
request decoding (JSON bodies; patch types merge, json, strategic and
apply), query options (dryRun, fieldManager, fieldValidation, force,
propagationPolicy, selectors, limit/continue, resourceVersion,
allowWatchBookmarks, timeoutSeconds, sendInitialEvents, includeObject),
replies (objects, lists, `Table` and `PartialObjectMetadata` when the
Accept header asks, `Status` for every error, `Warning` headers), watch
streaming as chunked newline-delimited JSON events with periodic
BOOKMARKs, and the test-control API under `/_lifeboat/` (faults, dropped
watches, simulated restarts, compaction, stats).
"""

import copy
import json
import os
import random
import re
import socket
import ssl
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import discovery
import managed
import patch as patchmod
import protobuf
import labelsel as sel
import tables
import yamlmini
from errors import ApiError, bad_request, internal, method_not_allowed, unsupported_media
from kinds import CustomType

PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml",
               "application/apply-patch+cbor")
TRUE = ("true", "True", "1", "TRUE")


class Faults:
    """Injected failures, matched per request (see README.md)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.next_id = 1
        self.injected = 0

    def add(self, rule):
        if "pathRegex" in rule:
            re.compile(rule["pathRegex"])
        with self.lock:
            rule = dict(rule, id=self.next_id)
            self.next_id += 1
            self.rules.append(rule)
            return rule

    def clear(self):
        with self.lock:
            self.rules = []

    def list(self):
        with self.lock:
            return [dict(r) for r in self.rules]

    def pick(self, method, target, is_watch):
        """Returns (delay seconds, failing rule or None)."""
        delay, failing = 0.0, None
        with self.lock:
            for r in list(self.rules):
                if r.get("methods") and method not in r["methods"]:
                    continue
                if r.get("pathRegex") and not re.search(r["pathRegex"], target):
                    continue
                if is_watch and not r.get("watches", False) and r.get("status"):
                    continue
                delay = max(delay, r.get("slowMs", 0) / 1000.0)
                if r.get("status") and failing is None:
                    if random.random() >= float(r.get("rate", 1.0)):
                        continue
                    if "count" in r:
                        if r["count"] <= 0:
                            continue
                        r["count"] -= 1
                        if r["count"] == 0 and not r.get("slowMs"):
                            self.rules.remove(r)
                    failing = r
                    self.injected += 1
        return delay, failing


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.requests = 0
            self.by_verb, self.by_status, self.by_verb_status, self.by_resource = {}, {}, {}, {}
            self.watches_started = 0
            self.last_authorization = None
            self.authorized_requests = 0
            self.user_agents = {}

    def record(self, verb, resource, code):
        with self.lock:
            self.requests += 1
            self.by_verb[verb] = self.by_verb.get(verb, 0) + 1
            self.by_status[str(code)] = self.by_status.get(str(code), 0) + 1
            k = "%s %s" % (verb, code)
            self.by_verb_status[k] = self.by_verb_status.get(k, 0) + 1
            if resource:
                k = "%s %s" % (verb, resource)
                self.by_resource[k] = self.by_resource.get(k, 0) + 1


class App:
    """Everything a request handler needs."""

    def __init__(self, store, registry, jobs, log, host, token=None, require_token=False, bookmark_interval=10.0,
                 request_log=None):
        self.store, self.registry, self.jobs, self.log = store, registry, jobs, log
        self.host = host
        self.token = token
        self.require_token = require_token
        self.bookmark_interval = bookmark_interval
        self.faults = Faults()
        self.stats = Stats()
        self.request_log = request_log
        self.watch_conns = set()
        self.lock = threading.Lock()


def parse_accept(header):
    """Returns ("table", version) | ("partial", version) | ("json", None)."""
    for part in (header or "").split(","):
        params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
        if params.get("g") == "meta.k8s.io" and params.get("as") in ("Table",):
            return "table", params.get("v", "v1")
        if params.get("g") == "meta.k8s.io" and params.get("as") in ("PartialObjectMetadata",
                                                                      "PartialObjectMetadataList"):
            return "partial", params.get("v", "v1")
        mt = part.split(";")[0].strip()
        if mt in ("application/json", "*/*", "application/*", "") and not params.get("as"):
            return "json", None
    return "json", None


def present(rt, obj):
    out = dict(obj)
    return rt.present(out)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lifeboat-test-apiserver"
    sys_version = ""

    @property
    def app(self):
        return self.server.app

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(10)
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
                raise ConnectionError("TLS handshake failed")
            self.connection.settimeout(None)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, OSError):
            self.close_connection = True

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_HEAD(self):
        self.dispatch("HEAD")

    # --- plumbing -------------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, code, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = (json.dumps(body, separators=(",", ":")) + "\n").encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", self.audit_id)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        for w in self.warnings:
            self.send_header("Warning", '299 - %s' % json.dumps(w))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.status_code = code

    def send_error_status(self, err):
        headers = dict(err.headers)
        self.send(err.code, err.status(), headers=headers)

    def dispatch(self, method):
        self.audit_id = "%08x-%04x" % (random.getrandbits(32), random.getrandbits(16))
        self.warnings = []
        self.status_code = 0
        self.verb, self.resource_label = "other", ""
        started = time.time()
        url = urlsplit(self.path)
        self.url_path = url.path.rstrip("/") or "/"
        self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            body = self.read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
            auth = self.headers.get("Authorization")
            if auth:
                with self.app.stats.lock:
                    self.app.stats.last_authorization = auth
                    self.app.stats.authorized_requests += 1
            if self.url_path.startswith("/_lifeboat/"):
                self.verb = "control"
                return self.control(method, body)
            is_watch = self.query.get("watch") in TRUE or "/watch/" in self.url_path
            delay, rule = self.app.faults.pick(method, self.path, is_watch)
            if delay:
                time.sleep(delay)
            if rule:
                return self.inject(rule)
            if self.app.require_token and auth != "Bearer %s" % self.app.token:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self.route(method, body)
        except ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:
            self.app.log("internal error on %s %s: %s" % (method, self.path, traceback.format_exc()))
            try:
                self.send_error_status(internal(repr(e)))
            except OSError:
                self.close_connection = True
        finally:
            self.app.stats.record(self.verb, self.resource_label, self.status_code)
            if self.app.request_log:
                self.app.request_log("%s %s %s %d %.3fs" % (time.strftime("%H:%M:%S"), method, self.path,
                                                             self.status_code, time.time() - started))

    def inject(self, rule):
        code = int(rule["status"])
        reasons = {429: ("TooManyRequests", "the server has received too many requests and has asked us to try "
                                            "again later"),
                   500: ("InternalError", "Internal error occurred: injected fault"),
                   503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
                   504: ("Timeout", "the server was unable to return a response in the time allotted"),
                   409: ("Conflict", "injected conflict"), 410: ("Expired", "injected expiry")}
        reason, msg = reasons.get(code, ("InternalError", "injected fault"))
        headers = {}
        details = None
        if rule.get("retryAfterSeconds") is not None:
            headers["Retry-After"] = str(rule["retryAfterSeconds"])
            details = {"retryAfterSeconds": int(rule["retryAfterSeconds"])}
        self.send_error_status(ApiError(code, reason, msg, details, headers))

    # --- test control API -------------------------------------------------------

    def control(self, method, body):
        app, p = self.app, self.url_path
        data = json.loads(body or b"{}") if body else {}
        if p == "/_lifeboat/faults":
            if method == "POST":
                return self.send(201, app.faults.add(data))
            if method == "DELETE":
                app.faults.clear()
                return self.send(200, {"cleared": True})
            return self.send(200, {"faults": app.faults.list()})
        if p == "/_lifeboat/drop-watches" and method == "POST":
            return self.send(200, {"dropped": app.store.drop_watches()})
        if p == "/_lifeboat/restart" and method == "POST":
            with app.store.lock:
                dropped = app.store.drop_watches()
                app.store.compact()
                rv = app.store.rv
            return self.send(200, {"dropped": dropped, "resourceVersion": str(rv)})
        if p == "/_lifeboat/compact" and method == "POST":
            app.store.compact()
            return self.send(200, {"resourceVersion": str(app.store.current_rv())})
        if p == "/_lifeboat/config" and method == "POST":
            if "bookmarkIntervalSeconds" in data:
                app.bookmark_interval = float(data["bookmarkIntervalSeconds"])
            if "historySize" in data:
                app.store.history_size = int(data["historySize"])
            return self.send(200, {"bookmarkIntervalSeconds": app.bookmark_interval,
                                   "historySize": app.store.history_size})
        if p == "/_lifeboat/stats":
            if method == "DELETE":
                app.stats.reset()
                return self.send(200, {"reset": True})
            s = app.stats
            with s.lock:
                out = {"requests": s.requests, "byVerb": s.by_verb, "byStatus": s.by_status,
                       "byVerbStatus": s.by_verb_status, "byResource": s.by_resource,
                       "watchesStarted": s.watches_started, "openWatches": len(app.store.open_watches()),
                       "lastAuthorization": s.last_authorization, "authorizedRequests": s.authorized_requests,
                       "faultsInjected": app.faults.injected, "resourceVersion": str(app.store.current_rv())}
            return self.send(200, out)
        raise ApiError(404, "NotFound", "unknown control endpoint %s %s" % (method, p))

    # --- routing ----------------------------------------------------------------

    def route(self, method, body):
        p = self.url_path
        reg = self.app.registry
        if method not in ("GET", "HEAD") and not (p.startswith("/api/") or p.startswith("/apis/")):
            raise method_not_allowed()
        if p in ("/healthz", "/livez", "/readyz"):
            return self.send(200, "ok", "text/plain; charset=utf-8")
        if p == "/version":
            self.verb = "discovery"
            return self.send(200, discovery.VERSION)
        if p == "/api":
            self.verb = "discovery"
            return self.send(200, discovery.api_versions(self.app.host))
        if p == "/apis":
            self.verb = "discovery"
            return self.send(200, discovery.api_group_list(reg))
        if p.startswith("/openapi/"):
            self.verb = "openapi"
            return self.openapi(p)
        parts = p.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        elif parts[0] == "apis" and len(parts) == 2:
            self.verb = "discovery"
            g = discovery.api_group(reg, parts[1])
            if g is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return self.send(200, g)
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            self.verb = "discovery"
            rl = discovery.resource_list(reg, group, version)
            if rl is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return self.send(200, rl)
        legacy_watch = False
        if rest[0] == "watch":
            legacy_watch, rest = True, rest[1:]
        ns = None
        if rest and rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and
                                                                          rest[2] in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        rt = reg.find(group, version, rest[0])
        if rt is None or (ns is not None and not rt.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        if sub and sub not in rt.subresources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self.resource_label = rt.resource + ("." + rt.group if rt.group else "") + ("/" + sub if sub else "")
        if method in ("GET", "HEAD"):
            if name is None:
                if legacy_watch or self.query.get("watch") in TRUE:
                    self.verb = "watch"
                    return self.watch(rt, ns)
                self.verb = "list"
                return self.list(rt, ns)
            self.verb = "get"
            if sub == "log":
                return self.pod_log(rt, ns, name)
            return self.reply_object(200, rt, self.app.store.get(rt, ns, name))
        if method == "POST":
            self.verb = "create"
            if name is not None or (rt.namespaced and ns is None):
                raise method_not_allowed()
            return self.create(rt, ns, body)
        if method == "PUT":
            self.verb = "update"
            if name is None:
                raise method_not_allowed()
            return self.update(rt, ns, name, sub, body)
        if method == "PATCH":
            self.verb = "patch"
            if name is None:
                raise method_not_allowed()
            return self.patch(rt, ns, name, sub, body)
        if method == "DELETE":
            if name is None:
                self.verb = "deletecollection"
                return self.delete_collection(rt, ns, body)
            self.verb = "delete"
            if sub:
                raise method_not_allowed()
            return self.delete(rt, ns, name, body)
        raise method_not_allowed()

    def openapi(self, p):
        reg = self.app.registry
        if p == "/openapi/v3":
            return self.send(200, discovery.openapi_index(reg))
        m = re.match(r"^/openapi/v3/(api/v1|apis/([^/]+)/([^/]+))$", p)
        if m:
            doc = discovery.openapi_doc(reg, m.group(2) or "", m.group(3) or "v1")
            if doc is not None:
                return self.send(200, doc)
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    # --- options ----------------------------------------------------------------

    def write_ctx(self, default_manager=True):
        q = self.query
        fv = q.get("fieldValidation", "Warn") or "Warn"
        if fv not in ("Strict", "Warn", "Ignore"):
            raise bad_request('Invalid fieldValidation: %s, must be one of "Ignore", "Warn", or "Strict"' % fv)
        dry = q.get("dryRun")
        if dry not in (None, "", "All"):
            raise bad_request('Invalid dryRun value: "%s", must be "All"' % dry)
        ua = self.headers.get("User-Agent", "unknown")
        manager = q.get("fieldManager") or (ua.split("/")[0][:128] if default_manager else None)
        return {"field_validation": fv, "dry_run": dry == "All", "manager": manager, "warnings": self.warnings,
                "force": q.get("force") in TRUE}

    def decode(self, body, what="object"):
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if ctype == "application/vnd.kubernetes.protobuf" and what == "object":
            try:
                return protobuf.decode(body)
            except (ValueError, KeyError, UnicodeDecodeError) as e:
                self.app.log("protobuf body refused: %s" % e)
                raise unsupported_media(ctype, ["application/json", "application/yaml"])
        if ctype not in ("application/json", "application/yaml", "") and what == "object":
            raise unsupported_media(ctype, ["application/json", "application/yaml"])
        try:
            data = json.loads(body or b"null")
        except ValueError as e:
            if ctype == "application/yaml":
                try:
                    data = yamlmini.load(body.decode())
                except ValueError as ye:
                    raise bad_request("error converting YAML to JSON: %s" % ye)
            else:
                raise bad_request("couldn't get version/kind; json parse error: %s" % e)
        if what == "object" and not isinstance(data, dict):
            raise bad_request("the object provided is unrecognized (must be of type %s)" % "object")
        return data

    def check_kind(self, rt, obj):
        kind, av = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != rt.kind:
            raise bad_request('%s in version "%s" cannot be handled as a %s: no kind "%s" is registered for version '
                              '"%s" in scheme' % (kind, rt.version, rt.kind, kind, av or rt.gv))
        if av and av != rt.gv:
            raise bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                              % (av, rt.gv))

    def selectors(self, rt):
        labels = sel.parse_labels(self.query.get("labelSelector", ""))
        fields, _ = sel.parse_fields(self.query.get("fieldSelector", ""), rt.field_labels)
        return labels, fields

    # --- replies ----------------------------------------------------------------

    def reply_object(self, code, rt, obj):
        mode, version = parse_accept(self.headers.get("Accept"))
        out = present(rt, obj)
        if mode == "table":
            t = tables.table(rt, [out], self.query.get("includeObject", "Metadata"),
                             api_version="meta.k8s.io/" + version,
                             list_meta={"resourceVersion": obj["metadata"].get("resourceVersion", "")})
            return self.send(code, t)
        if mode == "partial":
            return self.send(code, tables.partial_metadata(out, "meta.k8s.io/" + version))
        return self.send(code, out)

    def list(self, rt, ns):
        labels, fields = self.selectors(rt)
        try:
            limit = int(self.query.get("limit") or 0)
        except ValueError:
            raise bad_request("limit must be an integer")
        items, rv, token, remaining = self.app.store.list(rt, ns, labels, fields, limit, self.query.get("continue"))
        meta = {"resourceVersion": str(rv)}
        if token:
            meta["continue"] = token
            meta["remainingItemCount"] = remaining
        mode, version = parse_accept(self.headers.get("Accept"))
        presented = [present(rt, o) for o in items]
        if mode == "table":
            return self.send(200, tables.table(rt, presented, self.query.get("includeObject", "Metadata"),
                                               api_version="meta.k8s.io/" + version, list_meta=meta))
        if mode == "partial":
            return self.send(200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/" + version,
                                   "metadata": meta,
                                   "items": [tables.partial_metadata(o, "meta.k8s.io/" + version)
                                             for o in presented]})
        if not isinstance(rt, CustomType):
            presented = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]
        return self.send(200, {"kind": rt.list_kind, "apiVersion": rt.gv, "metadata": meta, "items": presented})

    def pod_log(self, rt, ns, name):
        pod = self.app.store.get(rt, ns, name)
        path = os.path.join(self.app.jobs.workdir, "pods", ns, name, "log") if self.app.jobs else None
        if not path or not os.path.exists(path):
            cname = ((pod.get("spec") or {}).get("containers") or [{}])[0].get("name")
            raise bad_request('container "%s" in pod "%s" is waiting to start: ContainerCreating' % (cname, name))
        with open(path, "rb") as f:
            data = f.read()
        if self.query.get("tailLines"):
            n = int(self.query["tailLines"])
            data = b"".join(data.splitlines(True)[-n:]) if n > 0 else b""
        if self.query.get("limitBytes"):
            data = data[:int(self.query["limitBytes"])]
        return self.send(200, data, "text/plain")

    # --- writes -----------------------------------------------------------------

    def create(self, rt, ns, body):
        obj = self.decode(body)
        self.check_kind(rt, obj)
        obj.setdefault("apiVersion", rt.gv)
        obj.setdefault("kind", rt.kind)
        ctx = self.write_ctx()
        stored = self.app.store.create(rt, ns, obj, ctx)
        return self.reply_object(201, rt, stored)

    def update(self, rt, ns, name, sub, body):
        obj = self.decode(body)
        self.check_kind(rt, obj)
        ctx = self.write_ctx()
        stored, created = self.app.store.update(rt, ns, name, obj, sub, ctx)
        return self.reply_object(201 if created else 200, rt, stored)

    def patch(self, rt, ns, name, sub, body):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype not in PATCH_TYPES or ctype == "application/apply-patch+cbor" or \
                (ctype == "application/strategic-merge-patch+json" and isinstance(rt, CustomType)):
            accepted = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
            if not isinstance(rt, CustomType):
                accepted.insert(2, "application/strategic-merge-patch+json")
            raise unsupported_media(ctype, accepted)
        ctx = self.write_ctx(default_manager=ctype != "application/apply-patch+yaml")
        if ctype == "application/apply-patch+yaml":
            if not ctx["manager"]:
                raise bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is "
                                  "required for apply patch")
            try:
                data = json.loads(body or b"null")
            except ValueError:
                try:
                    data = yamlmini.load(body.decode())
                except ValueError as e:
                    raise bad_request("error decoding YAML: %s" % e)
            if not isinstance(data, dict):
                raise bad_request("apply configuration must be an object")
            self.check_kind(rt, data)
            ctx["operation"] = "Apply"
        else:
            if self.query.get("force"):
                raise bad_request("PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified "
                                  "for non-apply patch")
            try:
                data = json.loads(body or b"null")
            except ValueError as e:
                raise bad_request("error decoding patch: %s" % e)

        def fn(cur):
            if ctype == "application/apply-patch+yaml":
                cfg = copy.deepcopy(data)
                cm = cfg.setdefault("metadata", {})
                if cm.get("name") and cm["name"] != name:
                    raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                      % (cm["name"], name))
                cm["name"] = name
                if ns:
                    cm.setdefault("namespace", ns)
                return managed.apply(rt, present(rt, cur) if cur is not None else None, cfg, ctx, sub)
            if cur is None:
                raise ApiError(404, "NotFound", '%s "%s" not found' % (
                    rt.resource + ("." + rt.group if rt.group else ""), name),
                    {"name": name, "group": rt.group, "kind": rt.resource})
            doc = present(rt, cur)
            if ctype == "application/merge-patch+json":
                if not isinstance(data, dict):
                    raise bad_request("merge patch must be a JSON object")
                return patchmod.merge_patch(doc, data)
            if ctype == "application/json-patch+json":
                return patchmod.json_patch(doc, data)
            if not isinstance(data, dict):
                raise bad_request("strategic merge patch must be a JSON object")
            out = patchmod.strategic_merge(doc, data, managed.Ctx(None, None, True))
            return {} if out is managed.MISSING else out
        stored, created = self.app.store.mutate(rt, ns, name, fn, sub, ctx,
                                                create_missing=ctype == "application/apply-patch+yaml")
        return self.reply_object(201 if created else 200, rt, stored)

    def delete_options(self, body):
        opts = {}
        if body and body.strip():
            try:
                opts = json.loads(body)
            except ValueError as e:
                raise bad_request("error decoding DeleteOptions: %s" % e)
            if not isinstance(opts, dict):
                raise bad_request("DeleteOptions must be an object")
        q = self.query
        if q.get("propagationPolicy"):
            opts["propagationPolicy"] = q["propagationPolicy"]
        if q.get("orphanDependents"):
            opts["orphanDependents"] = q["orphanDependents"] in TRUE
        if q.get("dryRun") == "All":
            opts["dryRun"] = ["All"]
        return opts

    def delete(self, rt, ns, name, body):
        opts = self.delete_options(body)
        ctx = {"dry_run": "All" in (opts.get("dryRun") or []), "warnings": self.warnings}
        obj, deleted_now = self.app.store.delete(rt, ns, name, opts, ctx)
        if deleted_now and (isinstance(rt, CustomType) or rt.resource in ("configmaps", "secrets", "leases",
                                                                            "events", "serviceaccounts")):
            m = obj.get("metadata") or {}
            return self.send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                   "details": {"name": m.get("name"), "group": rt.group, "kind": rt.resource,
                                               "uid": m.get("uid")}})
        return self.reply_object(200, rt, obj)

    def delete_collection(self, rt, ns, body):
        opts = self.delete_options(body)
        labels, fields = self.selectors(rt)
        items, rv, _, _ = self.app.store.list(rt, ns, labels, fields)
        ctx = {"dry_run": "All" in (opts.get("dryRun") or []), "warnings": self.warnings}
        out = []
        for o in items:
            m = o["metadata"]
            try:
                obj, _ = self.app.store.delete(rt, m.get("namespace", ""), m["name"], opts, ctx)
                out.append(present(rt, obj))
            except ApiError as e:
                if e.code != 404:
                    raise
        return self.send(200, {"kind": rt.list_kind, "apiVersion": rt.gv,
                               "metadata": {"resourceVersion": str(self.app.store.current_rv())}, "items": out})

    # --- watch ------------------------------------------------------------------

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, rt, ns):
        q = self.query
        labels, fields = self.selectors(rt)
        bookmarks = q.get("allowWatchBookmarks") in TRUE
        send_initial = q.get("sendInitialEvents") in TRUE
        if send_initial and (not bookmarks or q.get("resourceVersionMatch") != "NotOlderThan"):
            raise ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: '
                           'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled '
                           'and resourceVersionMatch is NotOlderThan and allowWatchBookmarks is true')
        try:
            timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else 1800.0 * (1 + random.random())
        except ValueError:
            raise bad_request("timeoutSeconds must be a number")
        mode, version = parse_accept(self.headers.get("Accept"))
        gone_err = None
        try:
            w = self.app.store.watch(rt, ns, labels, fields, q.get("resourceVersion"), send_initial)
        except ApiError as e:
            if e.code != 410:
                raise
            w, gone_err = None, e
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", self.audit_id)
        for warn in self.warnings:
            self.send_header("Warning", '299 - %s' % json.dumps(warn))
        self.end_headers()
        self.status_code = 200
        with self.app.stats.lock:
            self.app.stats.watches_started += 1
        if gone_err is not None:
            event = {"type": "ERROR", "object": gone_err.status()}
            self._chunk((json.dumps(event, separators=(",", ":")) + "\n").encode())
            self._chunk(b"")
            return
        first = True
        end = time.time() + timeout
        next_bookmark = time.time() + self.app.bookmark_interval
        try:
            while True:
                now = time.time()
                if now >= end:
                    break
                wait = min(end - now, max(0.05, next_bookmark - now)) if bookmarks else end - now
                try:
                    item = w.q.get(timeout=wait)
                except Exception:
                    if bookmarks and time.time() >= next_bookmark:
                        self.app.store.bookmark(w)
                        next_bookmark = time.time() + self.app.bookmark_interval
                    continue
                if item is None:
                    # A dropped watch: end the stream abruptly, mid-chunk-stream.
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                etype, obj = item
                if etype in ("BOOKMARK", "BOOKMARK-INITIAL"):
                    if not bookmarks:
                        continue
                    meta = {"resourceVersion": str(obj)}
                    if etype == "BOOKMARK-INITIAL":
                        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
                    out = {"kind": rt.kind, "apiVersion": rt.gv, "metadata": meta}
                    if mode == "table":
                        out = {"kind": "Table", "apiVersion": "meta.k8s.io/" + version, "metadata": meta,
                               "columnDefinitions": None, "rows": None}
                    etype = "BOOKMARK"
                else:
                    out = present(rt, obj)
                    if mode == "table":
                        out = tables.table(rt, [out], q.get("includeObject", "Metadata"), no_headers=not first,
                                           api_version="meta.k8s.io/" + version,
                                           list_meta={"resourceVersion": obj["metadata"].get("resourceVersion")})
                        first = False
                    elif mode == "partial":
                        out = tables.partial_metadata(out, "meta.k8s.io/" + version)
                self._chunk((json.dumps({"type": etype, "object": out}, separators=(",", ":")) + "\n").encode())
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        finally:
            self.app.store.unwatch(w)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, app, ssl_context=None):
        self.app = app
        self.ssl_context = ssl_context
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass
