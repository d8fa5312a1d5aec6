"""`meta.k8s.io/v1 Table` output, as `kubectl get` asks for it.

Owns the printer-column JSONPath subset (`.a.b`, `.a[0].b`, `.a[*].b`,
`.a[?(@.type=="Ready")].status`), CRD additionalPrinterColumns (Name plus
the CRD's columns, or Name + Age when it has none, like apiextensions'
table convertor), the built-in printers for the kinds this server serves
(the column sets of kubernetes/pkg/printers/internalversion), and
HumanDuration for ages.
"""

import datetime
import json
import re

NAME_DESC = ("Name must be unique within a namespace. Is required when creating resources, although some resources "
             "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
             "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
AGE_DESC = ("CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
            "guaranteed to be set in happens-before order across separate operations. Clients may not set this "
            "value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
            "lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
            "#metadata")


def parse_time(ts):
    try:
        return datetime.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return "%ds" % s
    minutes = s // 60
    if minutes < 10:
        return "%dm" % minutes if s % 60 == 0 else "%dm%ds" % (minutes, s % 60)
    if minutes < 180:
        return "%dm" % minutes
    hours = minutes // 60
    if hours < 8:
        return "%dh" % hours if minutes % 60 == 0 else "%dh%dm" % (hours, minutes % 60)
    if hours < 48:
        return "%dh" % hours
    if hours < 24 * 8:
        return "%dd" % (hours // 24) if hours % 24 == 0 else "%dd%dh" % (hours // 24, hours % 24)
    if hours < 24 * 365 * 2:
        return "%dd" % (hours // 24)
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return "%dy" % (hours // 24 // 365) if dy == 0 else "%dy%dd" % (hours // 24 // 365, dy)
    return "%dy" % (hours // 24 // 365)


def age(ts):
    t = parse_time(ts)
    if t is None:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())


_SEG = re.compile(r"""\.([A-Za-z0-9_\-/]+)
                     |\[(\*|-?\d+)\]
                     |\[\?\(@\.([A-Za-z0-9_.\-]+)\s*(==|!=)\s*("[^"]*"|'[^']*'|[^)\s]+)\)\]
                     |\[['"]([^'"]+)['"]\]""", re.X)


def compile_jsonpath(path):
    """Parses a printer-column JSONPath; returns the segment list or raises
    ValueError for what the subset does not cover."""
    p = path.strip()
    if p.startswith("{") and p.endswith("}"):
        p = p[1:-1]
    if p.startswith("$"):
        p = p[1:]
    segs, pos = [], 0
    while pos < len(p):
        m = _SEG.match(p, pos)
        if not m:
            raise ValueError("unsupported JSONPath %r at %r" % (path, p[pos:]))
        pos = m.end()
        if m.group(1) is not None:
            segs.append(("key", m.group(1)))
        elif m.group(6) is not None:
            segs.append(("key", m.group(6)))
        elif m.group(2) is not None:
            segs.append(("all",) if m.group(2) == "*" else ("idx", int(m.group(2))))
        else:
            lit = m.group(5)
            if lit[0] in "\"'":
                val = lit[1:-1]
            else:
                try:
                    val = json.loads(lit)
                except ValueError:
                    val = lit
            segs.append(("filter", m.group(3).split("."), m.group(4), val))
    return segs


def eval_jsonpath(segs, obj):
    """Returns the list of values the path finds."""
    cur = [obj]
    for seg in segs:
        nxt = []
        for v in cur:
            if seg[0] == "key":
                if isinstance(v, dict) and seg[1] in v:
                    nxt.append(v[seg[1]])
            elif seg[0] == "idx":
                if isinstance(v, list) and -len(v) <= seg[1] < len(v):
                    nxt.append(v[seg[1]])
            elif seg[0] == "all":
                if isinstance(v, list):
                    nxt.extend(v)
                elif isinstance(v, dict):
                    nxt.extend(v.values())
            else:
                _, fpath, op, want = seg
                for item in v if isinstance(v, list) else []:
                    have = item
                    for k in fpath:
                        have = have.get(k) if isinstance(have, dict) else None
                    if (have == want or str(have) == str(want)) == (op == "=="):
                        nxt.append(item)
        cur = nxt
    return cur


def _go_print(v):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, separators=(",", ":"))


def cell_for(col_type, value):
    """apiextensions' cellForJSONValue (strings printed as the column does)."""
    if value is None:
        return None
    if col_type == "integer":
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if col_type == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if col_type == "boolean":
        return value if isinstance(value, bool) else None
    if col_type == "date":
        if isinstance(value, str):
            return age(value) if parse_time(value) else "<invalid>"
        return None
    return _go_print(value)


def crd_columns(version):
    """Column definitions and compiled paths for a CRD version."""
    cols = version.get("additionalPrinterColumns")
    if cols is None:
        cols = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    defs = [{"name": "Name", "type": "string", "format": "name", "description": NAME_DESC, "priority": 0}]
    paths = []
    for c in cols:
        d = {"name": c["name"], "type": c.get("type", "string"), "format": c.get("format", ""),
             "description": c.get("description", "Custom resource definition column (in JSONPath format): "
                                  + c.get("jsonPath", "")), "priority": c.get("priority", 0)}
        if c.get("jsonPath") == ".metadata.creationTimestamp" and "description" not in c:
            d["description"] = AGE_DESC
        defs.append(d)
        paths.append(compile_jsonpath(c["jsonPath"]))
    return defs, paths


def crd_row(defs, paths, obj):
    cells = [obj.get("metadata", {}).get("name")]
    for d, segs in zip(defs[1:], paths):
        found = eval_jsonpath(segs, obj)
        cells.append(cell_for(d["type"], found[0]) if found else None)
    return cells


# --- built-in printers ------------------------------------------------------

def _col(name, typ="string", priority=0, fmt="", desc=""):
    return {"name": name, "type": typ, "format": fmt, "description": desc or name, "priority": priority}


_NAME = {"name": "Name", "type": "string", "format": "name", "description": NAME_DESC, "priority": 0}
_AGE = {"name": "Age", "type": "string", "format": "", "description": AGE_DESC, "priority": 0}


def _m(o):
    return o.get("metadata") or {}


def _pod_cells(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    cs = st.get("containerStatuses") or []
    ready = sum(1 for c in cs if c.get("ready"))
    total = len(spec.get("containers") or [])
    reason = st.get("reason") or st.get("phase") or "Pending"
    for c in cs:
        state = c.get("state") or {}
        if state.get("terminated") and reason in ("Running", "Failed", "Succeeded", "Pending"):
            t = state["terminated"]
            reason = t.get("reason") or ("Signal:%d" % t["signal"] if t.get("signal") else
                                         "ExitCode:%d" % t.get("exitCode", 0))
        elif state.get("waiting", {}).get("reason") and reason == "Pending":
            reason = state["waiting"]["reason"]
    if _m(o).get("deletionTimestamp"):
        reason = "Terminating"
    restarts = sum(int(c.get("restartCount") or 0) for c in cs)
    return [_m(o).get("name"), "%d/%d" % (ready, total), reason, restarts, age(_m(o).get("creationTimestamp")),
            st.get("podIP") or "<none>", spec.get("nodeName") or "<none>", "<none>", "<none>"]


def _job_cells(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    status = "Running"
    for c in st.get("conditions") or []:
        if c.get("status") == "True":
            if c.get("type") == "Complete":
                status = "Complete"
            elif c.get("type") == "Failed":
                status = "Failed"
            elif c.get("type") == "Suspended":
                status = "Suspended"
            elif c.get("type") == "FailureTarget" and status == "Running":
                status = "FailureTarget"
            elif c.get("type") == "SuccessCriteriaMet" and status == "Running":
                status = "SuccessCriteriaMet"
    if _m(o).get("deletionTimestamp"):
        status = "Terminating"
    completions = spec.get("completions")
    comp = "%d/%d" % (st.get("succeeded") or 0, completions) if completions is not None else \
        "%d/1 of %d" % (st.get("succeeded") or 0, spec.get("parallelism") or 1)
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    if start is None:
        dur = ""
    else:
        now = end or datetime.datetime.now(datetime.timezone.utc)
        dur = human_duration((now - start).total_seconds())
    containers = (spec.get("template") or {}).get("spec", {}).get("containers") or []
    sel = ",".join("%s=%s" % kv for kv in sorted(((spec.get("selector") or {}).get("matchLabels") or {}).items()))
    return [_m(o).get("name"), status, comp, dur, age(_m(o).get("creationTimestamp")),
            ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers),
            sel or "<none>"]


def _event_cells(o):
    last = o.get("lastTimestamp") or o.get("eventTime") or _m(o).get("creationTimestamp")
    inv = o.get("involvedObject") or {}
    src = o.get("source") or {}
    return [age(last) if last else "<unknown>", o.get("type", ""), o.get("reason", ""),
            "%s/%s" % ((inv.get("kind") or "").lower(), inv.get("name", "")), inv.get("fieldPath", ""),
            ", ".join(x for x in (src.get("component") or o.get("reportingComponent"), src.get("host")) if x),
            o.get("message", ""), age(o.get("firstTimestamp")) if o.get("firstTimestamp") else "<unknown>",
            o.get("count") or 1, _m(o).get("name")]


def _pvc_cells(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    cap = (st.get("capacity") or {}).get("storage", "")
    modes = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    return [_m(o).get("name"), st.get("phase", "Pending"), spec.get("volumeName", ""), cap,
            ",".join(modes.get(m, m) for m in st.get("accessModes") or []), spec.get("storageClassName") or "<unset>",
            "<unset>", age(_m(o).get("creationTimestamp")), spec.get("volumeMode") or "Filesystem"]


BUILTIN = {
    "namespaces": ([_NAME, _col("Status"), _AGE],
                   lambda o: [_m(o).get("name"), (o.get("status") or {}).get("phase", ""),
                              age(_m(o).get("creationTimestamp"))]),
    "secrets": ([_NAME, _col("Type"), _col("Data", "integer"), _AGE],
                lambda o: [_m(o).get("name"), o.get("type", ""), len(o.get("data") or {}),
                           age(_m(o).get("creationTimestamp"))]),
    "configmaps": ([_NAME, _col("Data", "integer"), _AGE],
                   lambda o: [_m(o).get("name"), len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                              age(_m(o).get("creationTimestamp"))]),
    "serviceaccounts": ([_NAME, _col("Secrets", "integer"), _AGE],
                        lambda o: [_m(o).get("name"), len(o.get("secrets") or []),
                                   age(_m(o).get("creationTimestamp"))]),
    "pods": ([_NAME, _col("Ready"), _col("Status"), _col("Restarts"), _AGE, _col("IP", priority=1),
              _col("Node", priority=1), _col("Nominated Node", priority=1), _col("Readiness Gates", priority=1)],
             _pod_cells),
    "jobs": ([_NAME, _col("Status"), _col("Completions"), _col("Duration"), _AGE, _col("Containers", priority=1),
              _col("Images", priority=1), _col("Selector", priority=1)], _job_cells),
    "events": ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Subobject", priority=1),
                _col("Source", priority=1), _col("Message"), _col("First Seen", priority=1),
                _col("Count", "integer", priority=1), dict(_NAME, priority=1)], _event_cells),
    "persistentvolumeclaims": ([_NAME, _col("Status"), _col("Volume"), _col("Capacity"), _col("Access Modes"),
                                _col("StorageClass"), _col("VolumeAttributesClass", priority=1), _AGE,
                                _col("VolumeMode", priority=1)], _pvc_cells),
    "leases": ([_NAME, _col("Holder"), _AGE],
               lambda o: [_m(o).get("name"), (o.get("spec") or {}).get("holderIdentity", ""),
                          age(_m(o).get("creationTimestamp"))]),
}

# Resources without a printer get the default table convertor's columns.
DEFAULT = ([_NAME, {"name": "Created At", "type": "date", "format": "", "description": AGE_DESC, "priority": 0}],
           lambda o: [_m(o).get("name"), _m(o).get("creationTimestamp")])


def partial_metadata(obj, api_version="meta.k8s.io/v1"):
    return {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": obj.get("metadata") or {}}


def table(rt, objs, include_object="Metadata", no_headers=False, api_version="meta.k8s.io/v1", list_meta=None):
    """Builds a Table of `objs` (a list of stored objects) for resource type rt."""
    defs, rowf = rt.table_printer()
    rows = []
    for o in objs:
        if include_object == "Object":
            embedded = o
        elif include_object == "None":
            embedded = None
        else:
            embedded = partial_metadata(o, api_version)
        row = {"cells": rowf(o), "object": embedded}
        if embedded is None:
            del row["object"]
        rows.append(row)
    t = {"kind": "Table", "apiVersion": api_version, "metadata": list_meta or {},
         "columnDefinitions": None if no_headers else defs, "rows": rows}
    return t
