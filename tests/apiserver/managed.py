"""Field ownership (metadata.managedFields) and server-side apply.

Owns a simplified structured-merge-diff: an object's fields are a set of
leaf paths (`f:spec`, `f:containers`, `k:{"name":"x"}`, `v:"a"`); lists are
atomic unless they are known map-lists (CRD `x-kubernetes-list-type: map`,
or the built-in merge keys: containers by name, env by name, ...) or sets
(`x-kubernetes-list-type: set`, finalizers). Updates move ownership of the
fields they change to their manager; apply (application/apply-patch+yaml)
merges the applied configuration, reports conflicts with other managers
(409, reason Conflict, causes of type FieldManagerConflict) unless `force`,
and removes fields its manager applied before but no longer applies when
no other manager owns them.
Not modelled: per-version schema conversion of field sets, the "." node
ownership of structs, and `$patch` directives inside apply configurations.
"""

import copy
import json

from errors import ApiError

MISSING = object()

# Built-in list fields merged by key (the patchMergeKey of the Go types).
BUILTIN_MAP_LISTS = {
    "containers": ["name"], "initContainers": ["name"], "ephemeralContainers": ["name"], "volumes": ["name"],
    "env": ["name"], "volumeMounts": ["mountPath"], "ports": ["containerPort"], "imagePullSecrets": ["name"],
    "conditions": ["type"], "ownerReferences": ["uid"], "containerStatuses": ["name"], "tolerations": None,
}
BUILTIN_SETS = {"finalizers"}


class Ctx:
    """Where a value sits: its schema node (CRDs) or field name (built-ins)."""

    def __init__(self, schema=None, name=None, builtin=True):
        self.schema = schema
        self.name = name
        self.builtin = builtin

    def child(self, key):
        if self.name == "metadata" or (self.builtin and self.schema is None):
            return Ctx(None, key, True)
        s = self.schema or {}
        props = s.get("properties") or {}
        sub = props.get(key)
        if sub is None and isinstance(s.get("additionalProperties"), dict):
            sub = s["additionalProperties"]
        return Ctx(sub, key, False)

    def items(self):
        if self.builtin and self.schema is None:
            return Ctx(None, None, True)
        return Ctx((self.schema or {}).get("items"), None, False)

    def list_kind(self):
        if self.name in BUILTIN_SETS:
            return "set", None
        if self.builtin and self.schema is None:
            keys = BUILTIN_MAP_LISTS.get(self.name)
            return ("map", keys) if keys else ("atomic", None)
        s = self.schema or {}
        lt = s.get("x-kubernetes-list-type")
        if lt == "map":
            return "map", s.get("x-kubernetes-list-map-keys") or []
        if lt == "set":
            return "set", None
        return "atomic", None


def root_ctx(rt):
    s = getattr(rt, "schema", None)
    if s is None:
        return Ctx(None, None, True)
    return Ctx(s, None, False)


def _key_elem(item, keys):
    return "k:" + json.dumps({k: item.get(k) for k in keys if k in item}, sort_keys=True, separators=(",", ":"))


def leaf_map(v, ctx, prefix=()):
    """path tuple -> value for every leaf of v."""
    out = {}
    if isinstance(v, dict) and v:
        for k, sub in v.items():
            out.update(leaf_map(sub, ctx.child(k), prefix + ("f:" + k,)))
    elif isinstance(v, list) and v:
        kind, keys = ctx.list_kind()
        if kind == "map" and all(isinstance(i, dict) for i in v):
            for item in v:
                elem = prefix + (_key_elem(item, keys),)
                sub = leaf_map(item, ctx.items(), elem)
                out.update(sub or {elem: item})
        elif kind == "set":
            for item in v:
                out[prefix + ("v:" + json.dumps(item, sort_keys=True, separators=(",", ":")),)] = item
        else:
            out[prefix] = v
    elif prefix:
        out[prefix] = v
    return out


def owned_part(obj, subresource, rt):
    """The part of an object whose fields are tracked for this endpoint."""
    obj = obj or {}
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    out = {}
    for k, v in obj.items():
        if k in ("apiVersion", "kind"):
            continue
        if k == "status" and rt.status_subresource:
            continue
        if k == "metadata":
            m = {f: v[f] for f in ("labels", "annotations", "finalizers", "ownerReferences") if f in (v or {})}
            if m:
                out["metadata"] = m
            continue
        out[k] = v
    return out


def value_at(obj, path):
    cur = obj
    for el in path:
        if el.startswith("f:"):
            if not isinstance(cur, dict) or el[2:] not in cur:
                return MISSING
            cur = cur[el[2:]]
        elif el.startswith("k:"):
            key = json.loads(el[2:])
            if not isinstance(cur, list):
                return MISSING
            found = [i for i in cur if isinstance(i, dict) and all(i.get(k) == v for k, v in key.items())]
            if not found:
                return MISSING
            cur = found[0]
        elif el.startswith("v:"):
            val = json.loads(el[2:])
            if not isinstance(cur, list) or val not in cur:
                return MISSING
            cur = val
        else:
            return MISSING
    return cur


def delete_at(obj, path):
    if not path:
        return
    parent = value_at(obj, path[:-1])
    el = path[-1]
    if parent is MISSING:
        return
    if el.startswith("f:") and isinstance(parent, dict):
        parent.pop(el[2:], None)
    elif el.startswith("k:") and isinstance(parent, list):
        key = json.loads(el[2:])
        parent[:] = [i for i in parent if not (isinstance(i, dict) and all(i.get(k) == v for k, v in key.items()))]
    elif el.startswith("v:") and isinstance(parent, list):
        val = json.loads(el[2:])
        parent[:] = [i for i in parent if i != val]


def merge_apply(cur, cfg, ctx):
    if cfg is None:
        return MISSING
    if isinstance(cfg, dict) and isinstance(cur, dict):
        out = dict(cur)
        for k, v in cfg.items():
            merged = merge_apply(cur.get(k), v, ctx.child(k))
            if merged is MISSING:
                out.pop(k, None)
            else:
                out[k] = merged
        return out
    if isinstance(cfg, list) and isinstance(cur, list):
        kind, keys = ctx.list_kind()
        if kind == "map":
            out = list(cur)
            for item in cfg:
                if not isinstance(item, dict):
                    return copy.deepcopy(cfg)
                idx = [i for i, c in enumerate(out) if isinstance(c, dict) and
                       all(c.get(k) == item.get(k) for k in keys)]
                if idx:
                    out[idx[0]] = merge_apply(out[idx[0]], item, ctx.items())
                else:
                    out.append(copy.deepcopy(item))
            return out
        if kind == "set":
            return list(cur) + [i for i in cfg if i not in cur]
    return copy.deepcopy(cfg)


# --- managedFields encoding ---------------------------------------------------

def to_tree(paths):
    tree = {}
    for p in sorted(paths):
        node = tree
        for i, el in enumerate(p):
            node = node.setdefault(el, {})
            if el.startswith("k:") and i < len(p) - 1:
                node.setdefault(".", {})
    return tree


def from_tree(tree, prefix=()):
    out = set()
    for k, sub in (tree or {}).items():
        if k == ".":
            continue
        p = prefix + (k,)
        if sub and any(x != "." for x in sub):
            out |= from_tree(sub, p)
        else:
            out.add(p)
    return out


def parse_entries(obj):
    entries = []
    for e in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if not isinstance(e, dict) or not e.get("manager"):
            continue
        entries.append({"manager": e.get("manager"), "operation": e.get("operation", "Update"),
                        "apiVersion": e.get("apiVersion", ""), "time": e.get("time"),
                        "subresource": e.get("subresource", ""), "fields": from_tree(e.get("fieldsV1"))})
    return entries


def write_entries(obj, entries):
    out = []
    for e in entries:
        if not e["fields"]:
            continue
        d = {"manager": e["manager"], "operation": e["operation"], "apiVersion": e["apiVersion"],
             "time": e["time"], "fieldsType": "FieldsV1", "fieldsV1": to_tree(e["fields"])}
        if e.get("subresource"):
            d["subresource"] = e["subresource"]
        out.append(d)
    m = obj.setdefault("metadata", {})
    if out:
        m["managedFields"] = out
    else:
        m.pop("managedFields", None)


def _entry(entries, manager, operation, api_version, subresource):
    for e in entries:
        if e["manager"] == manager and e["operation"] == operation and e["subresource"] == subresource and \
                (operation == "Apply" or e["apiVersion"] == api_version):
            return e
    e = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": None,
         "subresource": subresource, "fields": set()}
    entries.append(e)
    return e


def track_update(rt, old, new, ctx, subresource):
    """Gives the fields an update changed to its manager."""
    if ctx.get("operation") == "Apply":
        return
    from store import now_rfc3339
    user_set = old is not None and (new.get("metadata") or {}).get("managedFields") != \
        (old.get("metadata") or {}).get("managedFields")
    entries = parse_entries(new if user_set or old is None else old)
    rc = root_ctx(rt)
    before = leaf_map(owned_part(old, subresource, rt), rc)
    after = leaf_map(owned_part(new, subresource, rt), rc)
    changed = {p for p, v in after.items() if p not in before or before[p] != v}
    removed = set(before) - set(after)
    for e in entries:
        e["fields"] -= removed
        if e["subresource"] == subresource:
            e["fields"] -= changed
    if changed:
        e = _entry(entries, ctx["manager"], "Update", rt.gv, subresource)
        e["fields"] |= changed
        e["time"] = now_rfc3339()
    write_entries(new, entries)


def _print_manager(e):
    s = json.dumps(e["manager"])
    if e.get("subresource"):
        s += " with subresource %s" % json.dumps(e["subresource"])
    if e["operation"] == "Update":
        s += " using %s" % e["apiVersion"]
        if e.get("time"):
            s += " at %s" % e["time"]
    return s


def path_string(path):
    out = ""
    for el in path:
        if el.startswith("f:"):
            out += "." + el[2:]
        elif el.startswith("k:"):
            key = json.loads(el[2:])
            out += "[" + ",".join("%s=%s" % (k, json.dumps(v)) for k, v in sorted(key.items())) + "]"
        elif el.startswith("v:"):
            out += "[=%s]" % el[2:]
    return out


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _allowed_by_last_applied(current, sub, rt, rc, cur_leaves):
    anns = ((current or {}).get("metadata") or {}).get("annotations") or {}
    try:
        last = json.loads(anns.get(LAST_APPLIED) or "")
    except ValueError:
        return set()
    if not isinstance(last, dict):
        return set()
    return {p for p, v in leaf_map(owned_part(last, sub, rt), rc).items() if cur_leaves.get(p) == v}


def apply(rt, current, config, ctx, subresource):
    """Server-side apply of `config` onto `current` (None: create)."""
    from store import now_rfc3339
    manager = ctx["manager"]
    sub = "status" if subresource == "status" else ""
    rc = root_ctx(rt)
    cfg = owned_part(config, sub, rt)
    cfg_leaves = leaf_map(cfg, rc)
    entries = parse_entries(current)
    cur_leaves = leaf_map(owned_part(current, sub, rt), rc) if current is not None else {}
    conflicts = []
    for p, v in cfg_leaves.items():
        if p in cur_leaves and cur_leaves[p] != v:
            for e in entries:
                if (e["manager"], e["operation"]) != (manager, "Apply") and e["subresource"] == sub and \
                        p in e["fields"]:
                    conflicts.append((e, p))
    if conflicts and not ctx.get("force") and manager == "kubectl" and \
            {p for _, p in conflicts} <= _allowed_by_last_applied(current, sub, rt, rc, cur_leaves):
        # The apiserver's lastAppliedManager: kubectl's first server-side
        # apply may take over fields that client-side apply set and that
        # still hold the last-applied values.
        ctx = dict(ctx, force=True)
    if conflicts and not ctx.get("force"):
        causes = [{"reason": "FieldManagerConflict", "message": "conflict with %s" % _print_manager(e),
                   "field": path_string(p)} for e, p in conflicts]
        if len(conflicts) == 1:
            msg = "Apply failed with 1 conflict: conflict with %s: %s" % (_print_manager(conflicts[0][0]),
                                                                          path_string(conflicts[0][1]))
        else:
            by = {}
            for e, p in conflicts:
                by.setdefault(_print_manager(e), []).append(path_string(p))
            parts = []
            for mgr in sorted(by):
                parts.append("conflicts with %s:" % mgr)
                parts.extend("- " + p for p in by[mgr])
            msg = "Apply failed with %d conflicts: %s" % (len(conflicts), "\n".join(parts))
        raise ApiError(409, "Conflict", msg, {"causes": causes})
    for e, p in conflicts:
        e["fields"].discard(p)
    mine = _entry(entries, manager, "Apply", rt.gv, sub)
    dropped = mine["fields"] - set(cfg_leaves)
    base = copy.deepcopy(current) if current is not None else {}
    body = {k: v for k, v in config.items() if k != "metadata"}
    cmeta = config.get("metadata") or {}
    result = merge_apply(base, body, rc)
    if result is MISSING:
        result = {}
    rm = result.setdefault("metadata", {})
    for f in ("name", "namespace", "generateName"):
        if f in cmeta and f not in rm:
            rm[f] = cmeta[f]
    if cmeta.get("resourceVersion"):
        rm["resourceVersion"] = cmeta["resourceVersion"]  # a precondition, checked by the store
    for f in ("labels", "annotations", "finalizers", "ownerReferences"):
        if f in cmeta:
            merged = merge_apply(rm.get(f), cmeta[f], Ctx(None, f, True))
            if merged is MISSING:
                rm.pop(f, None)
            else:
                rm[f] = merged
    for p in dropped:
        if not any(p in e["fields"] for e in entries if e is not mine):
            delete_at(result, p)
    mine["fields"] = set(cfg_leaves)
    mine["apiVersion"] = rt.gv
    mine["time"] = now_rfc3339()
    write_entries(result, entries)
    anns = (result.get("metadata") or {}).get("annotations") or {}
    if manager == "kubectl" and LAST_APPLIED in anns:
        # The apiserver's lastAppliedUpdater keeps client-side apply usable.
        applied = copy.deepcopy(config)
        (applied.get("metadata") or {}).get("annotations", {}).pop(LAST_APPLIED, None)
        anns[LAST_APPLIED] = json.dumps(applied, sort_keys=True, separators=(",", ":")) + "\n"
    result["apiVersion"] = config.get("apiVersion", rt.gv)
    result["kind"] = config.get("kind", rt.kind)
    return result
