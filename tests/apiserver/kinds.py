"""Resource types: what each served resource is and how writes to it behave.

Owns `ResourceType` (discovery facts, status subresource, generation rules,
field selectors, table printer, defaulting and validation: the "strategy" of
a kube-apiserver registry), the built-in kinds (core/v1 namespaces, secrets,
configmaps, events, pods, persistentvolumeclaims, serviceaccounts; batch/v1
jobs; coordination.k8s.io/v1 leases; apiextensions.k8s.io/v1
customresourcedefinitions), `CustomType` made from a CRD version, and the
`Registry` that maps URLs, kinds and CRDs to types.
"""

import base64
import binascii
import copy
import hashlib
import json
import re
import threading

import schema as schemamod
import tables
from errors import FieldError, bad_request, forbidden, invalid, not_supported, required

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
                 "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
                 "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
             "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def b64(data):
    return base64.b64encode(data).decode()


def _meta(obj):
    return obj.setdefault("metadata", {})


def validate_qualified_name(path, key, errs):
    parts = key.split("/")
    if len(parts) > 2 or not parts[-1] or len(parts[-1]) > 63 or not QUALIFIED_NAME.match(parts[-1]) or \
            (len(parts) == 2 and (not DNS1123_SUBDOMAIN.match(parts[0]) or len(parts[0]) > 253)):
        errs.append(invalid(path, key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                            "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                            "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"))


def validate_object_meta(rt, obj, old, errs):
    """ValidateObjectMeta(+Update): name, labels, annotations, finalizers,
    ownerReferences, and the fields that cannot change."""
    m = obj.get("metadata") or {}
    name = m.get("name", "")
    if not name:
        errs.append(required("metadata.name", "name or generateName is required"))
    elif rt.name_is_label and (not DNS1123_LABEL.match(name) or len(name) > 63):
        errs.append(invalid("metadata.name", name, LABEL_MSG))
    elif not rt.name_is_label and rt.resource != "events" and (not DNS1123_SUBDOMAIN.match(name) or len(name) > 253):
        errs.append(invalid("metadata.name", name, SUBDOMAIN_MSG))
    for k, v in (m.get("labels") or {}).items():
        validate_qualified_name("metadata.labels", k, errs)
        if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
            errs.append(invalid("metadata.labels", v, "a valid label must be an empty string or consist of "
                                "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
                                "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"))
    for k, v in (m.get("annotations") or {}).items():
        validate_qualified_name("metadata.annotations", k, errs)
        if not isinstance(v, str):
            errs.append(invalid("metadata.annotations", v, "must be a string"))
    if sum(len(k) + len(v) for k, v in (m.get("annotations") or {}).items() if isinstance(v, str)) > 256 * 1024:
        errs.append(FieldError("TooLong", "metadata.annotations", "", "may not be longer than 262144"))
    fins = m.get("finalizers") or []
    for i, f in enumerate(fins):
        if not isinstance(f, str):
            errs.append(invalid("metadata.finalizers[%d]" % i, f, "must be a string"))
            continue
        validate_qualified_name("metadata.finalizers[%d]" % i, f, errs)
        if "/" not in f and f not in ("kubernetes", "orphan", "foregroundDeletion"):
            pass  # the real server only warns about unqualified finalizer names
    for i, ref in enumerate(m.get("ownerReferences") or []):
        p = "metadata.ownerReferences[%d]" % i
        for fld in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(fld):
                errs.append(invalid(p + "." + fld, ref.get(fld, ""), fld + " must not be empty")
                            if fld != "apiVersion" else invalid(p + ".apiVersion", ref.get(fld, ""),
                                                                "version must not be empty"))
    if sum(1 for r in m.get("ownerReferences") or [] if r.get("controller")) > 1:
        errs.append(invalid("metadata.ownerReferences", m.get("ownerReferences"),
                            "Only one reference can have Controller set to true"))
    if old is not None:
        om = old.get("metadata") or {}
        if om.get("deletionTimestamp"):
            new_f = [f for f in fins if f not in (om.get("finalizers") or [])]
            if new_f:
                errs.append(forbidden("metadata.finalizers", "no new finalizers can be added if the object is "
                                      "being deleted, found new finalizers %s" % json.dumps(new_f)))


class ResourceType:
    """One resource of one group/version, with its registry strategy."""

    status_subresource = False
    has_generation = False
    name_is_label = False
    gc_default = "Background"
    top_fields = None  # known top-level fields for strict decoding, or None

    def __init__(self, group, version, resource, kind, namespaced, short_names=(), categories=(),
                 singular=None, subresources=(), field_labels=()):
        self.group, self.version, self.resource, self.kind = group, version, resource, kind
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.categories = list(categories)
        self.singular = singular or kind.lower()
        self.subresources = list(subresources)
        self.list_kind = kind + "List"
        self.field_labels = {"metadata.name"} | ({"metadata.namespace"} if namespaced else set()) | set(field_labels)

    @property
    def gv(self):
        return self.group + "/" + self.version if self.group else self.version

    @property
    def storage_key(self):
        return self.group + "/" + self.resource

    def present(self, obj):
        """The object as served at this version (conversion is a relabel)."""
        obj["apiVersion"] = self.gv
        obj["kind"] = self.kind
        return obj

    def table_printer(self):
        return tables.BUILTIN.get(self.resource, tables.DEFAULT)

    def field_values(self, obj):
        m = obj.get("metadata") or {}
        vals = {"metadata.name": m.get("name", ""), "metadata.namespace": m.get("namespace", "")}
        for f in self.field_labels:
            if f not in vals:
                cur = obj
                for part in f.split("."):
                    cur = cur.get(part) if isinstance(cur, dict) else None
                vals[f] = "" if cur is None else (json.dumps(cur) if isinstance(cur, bool) else str(cur))
        return vals

    # --- strategy hooks (store calls them under its lock) -------------------

    def normalize(self, obj, old, unknown):
        """Decoding-time work: drop unknown fields (recorded in `unknown`),
        apply defaults, merge write-only fields."""
        if self.top_fields is not None:
            for k in list(obj):
                if k not in self.top_fields and k not in ("apiVersion", "kind", "metadata"):
                    unknown.append(k)
                    del obj[k]
        m = obj.get("metadata")
        if isinstance(m, dict):
            for k in list(m):
                if k not in schemamod.OBJECT_META_FIELDS:
                    unknown.append("metadata." + k)
                    del m[k]

    def prepare_create(self, obj, ctx):
        if self.status_subresource and not ctx.get("internal"):
            obj.pop("status", None)

    def prepare_update(self, new, old, subresource):
        """Copies what this endpoint may not change from `old` into `new`."""
        if subresource == "status":
            keep_status = new.get("status")
            meta = new.get("metadata")
            new.clear()
            new.update(copy.deepcopy(old))
            if keep_status is None:
                new.pop("status", None)
            else:
                new["status"] = keep_status
            # Only status may change here; labels and annotations are kept as stored.
            new["metadata"] = copy.deepcopy(old["metadata"])
            if meta and "managedFields" in meta:
                new["metadata"]["managedFields"] = meta["managedFields"]
        elif self.status_subresource:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)

    def spec_changed(self, new, old):
        """Whether a generation bump is due (spec, i.e. non-metadata, non-status)."""
        strip = ("metadata", "status", "apiVersion", "kind") if self.status_subresource else \
            ("metadata", "apiVersion", "kind")
        return {k: v for k, v in new.items() if k not in strip} != {k: v for k, v in old.items() if k not in strip}

    def validate(self, obj, old, errs):
        pass


# --- core/v1 ------------------------------------------------------------------

class Namespaces(ResourceType):
    status_subresource = True
    name_is_label = True
    top_fields = {"spec", "status"}

    def prepare_create(self, obj, ctx):
        super().prepare_create(obj, ctx)
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
        _meta(obj).setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]

    def prepare_update(self, new, old, subresource):
        super().prepare_update(new, old, subresource)
        if subresource != "finalize":
            new["spec"] = copy.deepcopy(old.get("spec", {}))
        _meta(new).setdefault("labels", {})["kubernetes.io/metadata.name"] = old["metadata"]["name"]


class Secrets(ResourceType):
    top_fields = {"data", "stringData", "type", "immutable"}

    def normalize(self, obj, old, unknown):
        super().normalize(obj, old, unknown)
        data = obj.get("data") or {}
        for k, v in data.items():
            try:
                base64.b64decode(v or "", validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise bad_request('Secret in version "v1" cannot be handled as a Secret: illegal base64 data at '
                                  'input byte 0')
        for k, v in (obj.pop("stringData", None) or {}).items():
            data[k] = b64(str(v).encode())
        if data:
            obj["data"] = data
        obj.setdefault("type", "Opaque")

    def validate(self, obj, old, errs):
        for k in (obj.get("data") or {}):
            if not CONFIG_KEY.match(k):
                errs.append(invalid("data[%s]" % k, k, "a valid config key must consist of alphanumeric "
                                    "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
                                    "regex used for validation is '[-._a-zA-Z0-9]+')"))
        if old is not None:
            if old.get("type") != obj.get("type"):
                errs.append(invalid("type", obj.get("type"), "field is immutable"))
            if old.get("immutable") and obj.get("data") != old.get("data"):
                errs.append(forbidden("data", "field is immutable when `immutable` is set"))


class ConfigMaps(ResourceType):
    top_fields = {"data", "binaryData", "immutable"}

    def validate(self, obj, old, errs):
        for k in list(obj.get("data") or {}) + list(obj.get("binaryData") or {}):
            if not CONFIG_KEY.match(k):
                errs.append(invalid("data[%s]" % k, k, "a valid config key must consist of alphanumeric "
                                    "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
                                    "regex used for validation is '[-._a-zA-Z0-9]+')"))
        if old is not None and old.get("immutable") and (obj.get("data") != old.get("data")):
            errs.append(forbidden("data", "field is immutable when `immutable` is set"))


def default_pod_spec(spec):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if spec.get("serviceAccountName") or spec.get("serviceAccount"):
        spec.setdefault("serviceAccountName", spec.get("serviceAccount"))
        spec.setdefault("serviceAccount", spec.get("serviceAccountName"))
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if not isinstance(c, dict):
            continue
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        img = c.get("image", "")
        c.setdefault("imagePullPolicy", "Always" if ":" not in img.split("/")[-1] or img.endswith(":latest")
                     else "IfNotPresent")
        c.setdefault("resources", {})
    for v in spec.get("volumes") or []:
        for src in ("secret", "configMap"):
            if isinstance(v.get(src), dict):
                v[src].setdefault("defaultMode", 420)


def validate_pod_spec(spec, path, errs, restart_policies=("Always", "OnFailure", "Never")):
    containers = spec.get("containers")
    if not containers:
        errs.append(required(path + ".containers"))
    names = set()
    for i, c in enumerate(containers or []):
        p = "%s.containers[%d]" % (path, i)
        if not isinstance(c, dict):
            errs.append(invalid(p, c, "must be an object"))
            continue
        if not c.get("name"):
            errs.append(required(p + ".name"))
        elif c["name"] in names:
            errs.append(FieldError("Duplicate", p + ".name", c["name"]))
        names.add(c.get("name"))
        if not c.get("image"):
            errs.append(required(p + ".image"))
        for j, e in enumerate(c.get("env") or []):
            if not e.get("name"):
                errs.append(required("%s.env[%d].name" % (p, j)))
    rp = spec.get("restartPolicy")
    if rp not in restart_policies:
        if rp:
            errs.append(not_supported(path + ".restartPolicy", rp, list(restart_policies)))
        else:
            errs.append(required(path + ".restartPolicy", "valid values: " +
                                 ", ".join('"%s"' % r for r in restart_policies)))
    vols = set()
    for i, v in enumerate(spec.get("volumes") or []):
        if not v.get("name"):
            errs.append(required("%s.volumes[%d].name" % (path, i)))
        vols.add(v.get("name"))
    for i, c in enumerate(containers or []):
        for j, vm in enumerate((c.get("volumeMounts") or []) if isinstance(c, dict) else []):
            if vm.get("name") not in vols:
                errs.append(FieldError("NotFound", "%s.containers[%d].volumeMounts[%d].name" % (path, i, j),
                                       vm.get("name")))
            if not vm.get("mountPath"):
                errs.append(required("%s.containers[%d].volumeMounts[%d].mountPath" % (path, i, j)))


class Pods(ResourceType):
    status_subresource = True
    top_fields = {"spec", "status"}

    def prepare_create(self, obj, ctx):
        super().prepare_create(obj, ctx)
        default_pod_spec(obj.setdefault("spec", {}))
        st = obj.setdefault("status", {})
        st.setdefault("phase", "Pending")
        st.setdefault("qosClass", "BestEffort")

    def validate(self, obj, old, errs):
        validate_pod_spec(obj.get("spec") or {}, "spec", errs)


class PersistentVolumeClaims(ResourceType):
    status_subresource = True
    top_fields = {"spec", "status"}

    def prepare_create(self, obj, ctx):
        super().prepare_create(obj, ctx)
        spec = obj.setdefault("spec", {})
        spec.setdefault("volumeMode", "Filesystem")
        # No provisioner here: every claim is bound at once to a host folder.
        spec.setdefault("volumeName", "pvc-" + obj["metadata"]["uid"])
        obj["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or [],
                         "capacity": copy.deepcopy((spec.get("resources") or {}).get("requests") or {})}

    def validate(self, obj, old, errs):
        spec = obj.get("spec") or {}
        if not spec.get("accessModes"):
            errs.append(required("spec.accessModes", "at least 1 access mode is required"))
        if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            errs.append(required("spec.resources[storage]"))


class Jobs(ResourceType):
    status_subresource = True
    has_generation = True
    gc_default = "Orphan"  # batch/v1 Jobs orphan their pods unless told otherwise
    top_fields = {"spec", "status"}
    CONTROLLER_LABELS = ("batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name", "controller-uid",
                         "job-name")

    def prepare_create(self, obj, ctx):
        super().prepare_create(obj, ctx)
        m = obj["metadata"]
        spec = obj.setdefault("spec", {})
        tmpl = spec.setdefault("template", {})
        tmeta = tmpl.setdefault("metadata", {})
        if not m.get("labels") and tmeta.get("labels"):
            m["labels"] = dict(tmeta["labels"])
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        if not spec.get("manualSelector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": m["uid"]}}
            labels = tmeta.setdefault("labels", {})
            labels.update({"batch.kubernetes.io/controller-uid": m["uid"], "batch.kubernetes.io/job-name": m["name"],
                           "controller-uid": m["uid"], "job-name": m["name"]})
        default_pod_spec(tmpl.setdefault("spec", {}))
        obj["status"] = {}

    def validate(self, obj, old, errs):
        spec = obj.get("spec") or {}
        validate_pod_spec((spec.get("template") or {}).get("spec") or {}, "spec.template.spec", errs,
                          ("OnFailure", "Never"))
        for f in ("backoffLimit", "parallelism", "completions"):
            if isinstance(spec.get(f), int) and spec[f] < 0:
                errs.append(invalid("spec." + f, spec[f], "must be greater than or equal to 0"))
        if "activeDeadlineSeconds" in spec and (not isinstance(spec["activeDeadlineSeconds"], int)
                                                or spec["activeDeadlineSeconds"] <= 0):
            errs.append(invalid("spec.activeDeadlineSeconds", spec["activeDeadlineSeconds"],
                                "must be greater than 0"))
        if old is not None:
            ospec = old.get("spec") or {}
            for f in ("template", "selector", "completions", "completionMode"):
                if f in ospec and spec.get(f) != ospec.get(f):
                    errs.append(invalid("spec." + f, "<changed>", "field is immutable"))


class Events(ResourceType):
    top_fields = {"involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count",
                  "type", "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance"}

    def validate(self, obj, old, errs):
        inv = obj.get("involvedObject") or {}
        ns = (obj.get("metadata") or {}).get("namespace")
        if inv.get("namespace") and ns and inv["namespace"] != ns:
            errs.append(invalid("involvedObject.namespace", inv["namespace"], "does not match event.namespace"))


class Leases(ResourceType):
    top_fields = {"spec"}


class ServiceAccounts(ResourceType):
    top_fields = {"secrets", "imagePullSecrets", "automountServiceAccountToken"}


# --- CRDs -------------------------------------------------------------------

class CustomResourceDefinitions(ResourceType):
    status_subresource = True
    has_generation = True
    top_fields = {"spec", "status"}

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.registry = None

    def table_printer(self):
        return tables.DEFAULT

    def prepare_create(self, obj, ctx):
        super().prepare_create(obj, ctx)
        spec = obj.setdefault("spec", {})
        names = spec.setdefault("names", {})
        if names.get("kind"):
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", names["kind"] + "List")
        spec.setdefault("conversion", {"strategy": "None"})
        fins = _meta(obj).setdefault("finalizers", [])
        if "customresourcecleanup.apiextensions.k8s.io" not in fins:
            fins.append("customresourcecleanup.apiextensions.k8s.io")
        obj["status"] = crd_status(obj)

    def prepare_update(self, new, old, subresource):
        super().prepare_update(new, old, subresource)
        if subresource != "status" and new.get("spec") != old.get("spec"):
            new["status"] = crd_status(new, old.get("status"))

    def validate(self, obj, old, errs):
        validate_crd(obj, old, errs)


def _cond(ctype, reason, message, now):
    return {"type": ctype, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message}


def crd_status(crd, old_status=None):
    from store import now_rfc3339
    now = now_rfc3339()
    spec = crd.get("spec") or {}
    stored = list((old_status or {}).get("storedVersions") or [])
    for v in spec.get("versions") or []:
        if v.get("storage") and v.get("name") not in stored:
            stored.append(v.get("name"))
    conds = (old_status or {}).get("conditions") or [
        _cond("NamesAccepted", "NoConflicts", "no conflicts found", now),
        _cond("Established", "InitialNamesAccepted", "the initial names have been accepted", now)]
    return {"conditions": conds, "acceptedNames": copy.deepcopy(spec.get("names") or {}), "storedVersions": stored}


def validate_crd(crd, old, errs):
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group")
    if not group:
        errs.append(required("spec.group"))
    elif "." not in group:
        errs.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    for f in ("plural", "kind"):
        if not names.get(f):
            errs.append(required("spec.names." + f))
    if names.get("plural") and not DNS1123_LABEL.match(names["plural"]):
        errs.append(invalid("spec.names.plural", names["plural"], LABEL_MSG))
    name = (crd.get("metadata") or {}).get("name")
    if names.get("plural") and group and name != names["plural"] + "." + group:
        errs.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errs.append(not_supported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"])
                    if spec.get("scope") else required("spec.scope"))
    versions = spec.get("versions") or []
    if not versions:
        errs.append(invalid("spec.versions", versions, "must have exactly one version marked as storage version"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        errs.append(invalid("spec.versions", versions, "must have exactly one version marked as storage version"))
    for i, v in enumerate(versions):
        p = "spec.versions[%d]" % i
        if not v.get("name"):
            errs.append(required(p + ".name"))
        s = (v.get("schema") or {}).get("openAPIV3Schema")
        if s is None:
            errs.append(required(p + ".schema.openAPIV3Schema", "schemas are required"))
            continue
        for e in schemamod.structural_errors(s, p + ".schema.openAPIV3Schema"):
            errs.append(e)
        schemamod.compile_rules(s, p + ".schema.openAPIV3Schema", {}, errs)
        for j, col in enumerate(v.get("additionalPrinterColumns") or []):
            try:
                tables.compile_jsonpath(col.get("jsonPath", ""))
            except ValueError as e:
                errs.append(invalid("%s.additionalPrinterColumns[%d].jsonPath" % (p, j), col.get("jsonPath"),
                                    str(e)))
    if old is not None:
        ospec = old.get("spec") or {}
        if ospec.get("group") != spec.get("group"):
            errs.append(invalid("spec.group", group, "field is immutable"))
        if (ospec.get("names") or {}).get("plural") != names.get("plural"):
            errs.append(invalid("spec.names.plural", names.get("plural"), "field is immutable"))
        if ospec.get("scope") != spec.get("scope"):
            errs.append(invalid("spec.scope", spec.get("scope"), "field is immutable"))


class CustomType(ResourceType):
    """A custom resource, from one served version of a CRD."""

    def __init__(self, crd, version):
        spec = crd["spec"]
        names = spec["names"]
        subs = version.get("subresources") or {}
        super().__init__(spec["group"], version["name"], names["plural"], names["kind"],
                         spec.get("scope") == "Namespaced", names.get("shortNames") or [],
                         names.get("categories") or [], names.get("singular"),
                         ["status"] if "status" in subs else [],
                         [f.get("jsonPath", "").lstrip(".") for f in version.get("selectableFields") or []])
        self.list_kind = names.get("listKind") or names["kind"] + "List"
        self.status_subresource = "status" in subs
        self.scale = subs.get("scale")
        self.has_generation = True
        self.crd_name = crd["metadata"]["name"]
        self.schema = copy.deepcopy((version.get("schema") or {}).get("openAPIV3Schema") or {})
        self.programs = {}
        schemamod.compile_rules(self.schema, "", self.programs, [])
        self.columns = tables.crd_columns(version)
        self.version_doc = version
        self.preserve_root = self.schema.get("x-kubernetes-preserve-unknown-fields") is True

    def table_printer(self):
        defs, paths = self.columns
        return defs, lambda o: tables.crd_row(defs, paths, o)

    def normalize(self, obj, old, unknown):
        m = obj.get("metadata")
        if isinstance(m, dict):
            for k in list(m):
                if k not in schemamod.OBJECT_META_FIELDS:
                    unknown.append("metadata." + k)
                    del m[k]
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        s = dict(self.schema)
        props = dict(s.get("properties") or {})
        for k in ("apiVersion", "kind", "metadata"):
            props.pop(k, None)
        s["properties"] = props
        body = schemamod.prune(s, body, "", unknown)
        body = schemamod.apply_defaults(s, body)
        for k in list(obj):
            if k not in ("apiVersion", "kind", "metadata"):
                del obj[k]
        obj.update(body)

    def validate(self, obj, old, errs):
        s = dict(self.schema)
        props = dict(s.get("properties") or {})
        for k in ("apiVersion", "kind", "metadata"):
            props.pop(k, None)
        s["properties"] = props
        s["required"] = [r for r in s.get("required") or [] if r not in ("apiVersion", "kind", "metadata")]
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        oldbody = {k: v for k, v in (old or {}).items() if k not in ("apiVersion", "kind", "metadata")}
        v = schemamod.Validator(self.programs)
        v.validate(s, body, "", oldbody, old is not None)
        errs.extend(v.errs)


def builtin_types():
    core = [
        Namespaces("", "v1", "namespaces", "Namespace", False, ["ns"], subresources=["status", "finalize"],
                   field_labels=["status.phase"]),
        Secrets("", "v1", "secrets", "Secret", True, field_labels=["type"]),
        ConfigMaps("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
        Events("", "v1", "events", "Event", True, ["ev"], field_labels=[
            "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
            "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
            "reportingComponent", "source", "type"]),
        Pods("", "v1", "pods", "Pod", True, ["po"], ["all"], subresources=["status", "log"], field_labels=[
            "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "status.phase", "status.podIP", "status.nominatedNodeName"]),
        PersistentVolumeClaims("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"],
                               subresources=["status"]),
        ServiceAccounts("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
        Jobs("batch", "v1", "jobs", "Job", True, [], ["all"], subresources=["status"],
             field_labels=["status.successful"]),
        Leases("coordination.k8s.io", "v1", "leases", "Lease", True),
        CustomResourceDefinitions("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                  "CustomResourceDefinition", False, ["crd", "crds"], singular=None,
                                  subresources=["status"]),
    ]
    return core


class Registry:
    """All served resource types, rebuilt for CRDs as they come and go."""

    def __init__(self):
        self.lock = threading.RLock()
        self.builtin = builtin_types()
        self.custom = {}  # crd name -> [CustomType]
        self.generation = 0

    def all(self):
        with self.lock:
            out = list(self.builtin)
            for types in self.custom.values():
                out.extend(types)
            return out

    def find(self, group, version, resource):
        for rt in self.all():
            if rt.group == group and rt.version == version and rt.resource == resource:
                return rt
        return None

    def by_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        for rt in self.all():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None

    def any_version(self, storage_key):
        """The storage version's type for a storage key (for internal writes)."""
        for rt in self.all():
            if rt.storage_key == storage_key and getattr(rt, "version_doc", {}).get("storage", True):
                return rt
        return None

    def groups(self):
        """[(group, [versions in preference order])] without the core group."""
        seen = {}
        for rt in self.all():
            if rt.group:
                seen.setdefault(rt.group, [])
                if rt.version not in seen[rt.group]:
                    seen[rt.group].append(rt.version)
        return list(seen.items())

    def set_crd(self, crd):
        """Serves (or re-serves) the versions of an established CRD."""
        types = []
        for v in (crd.get("spec") or {}).get("versions") or []:
            if v.get("served", True):
                types.append(CustomType(crd, v))
        with self.lock:
            self.custom[crd["metadata"]["name"]] = types
            self.generation += 1

    def drop_crd(self, name):
        with self.lock:
            if self.custom.pop(name, None) is not None:
                self.generation += 1

    def digest(self, key):
        return hashlib.sha512(("%s/%d" % (key, self.generation)).encode()).hexdigest()[:32].upper()
