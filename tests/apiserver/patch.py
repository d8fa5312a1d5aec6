"""Patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
strategic merge patch (built-in kinds only, as on a real server).

Strategic merge patch here covers what kubectl's client-side apply sends
for built-ins: map merging, `null` deletion, merge-by-key lists (the
patchMergeKey of the Go types, listed in managed.BUILTIN_MAP_LISTS),
merged primitive lists (finalizers), and the directives `$patch`
(replace/delete/merge), `$retainKeys`, `$setElementOrder/<list>` and
`$deleteFromPrimitiveList/<list>`.
"""

import copy
import json

import managed
from errors import ApiError, bad_request

MISSING = managed.MISSING


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _rejected(msg):
    return ApiError(422, "Invalid", "the server rejected our request due to an error in our request",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": msg}]})


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise _rejected('unexpected pointer: "%s"' % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc, parts, path):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise _rejected("doc is missing path: \"%s\": missing value" % path)
    return cur


def _get(doc, path):
    parts = _pointer(path)
    if not parts:
        return doc
    cur = _container(doc, parts, path)
    last = parts[-1]
    if isinstance(cur, dict) and last in cur:
        return cur[last]
    if isinstance(cur, list) and last.isdigit() and int(last) < len(cur):
        return cur[int(last)]
    raise _rejected("doc is missing path: \"%s\": missing value" % path)


def _remove(doc, path):
    parts = _pointer(path)
    cur = _container(doc, parts, path)
    last = parts[-1]
    if isinstance(cur, dict) and last in cur:
        return cur.pop(last)
    if isinstance(cur, list) and last.isdigit() and int(last) < len(cur):
        return cur.pop(int(last))
    raise _rejected("doc is missing path: \"%s\": missing value" % path)


def _add(doc, path, value, replace=False):
    parts = _pointer(path)
    if not parts:
        return value
    cur = _container(doc, parts, path)
    last = parts[-1]
    if isinstance(cur, dict):
        if replace and last not in cur:
            raise _rejected("doc is missing key: %s: missing value" % path)
        cur[last] = value
    elif isinstance(cur, list):
        if last == "-" and not replace:
            cur.append(value)
        elif last.isdigit() and int(last) <= len(cur) - (1 if replace else 0):
            if replace:
                cur[int(last)] = value
            else:
                cur.insert(int(last), value)
        else:
            raise _rejected("unable to access invalid index: %s" % last)
    else:
        raise _rejected("doc is missing path: \"%s\": missing value" % path)
    return doc


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            doc = _add(doc, path, copy.deepcopy(op.get("value")), replace=True)
        elif kind == "move":
            v = _remove(doc, op.get("from", ""))
            doc = _add(doc, path, v)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op.get("from", ""))))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise _rejected("testing value %s failed: test failed" % path)
        else:
            raise _rejected("Unexpected kind: %s" % kind)
    return doc


def strategic_merge(target, patch, ctx):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return MISSING
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k[len("$setElementOrder/"):]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k[len("$deleteFromPrimitiveList/"):]
            if isinstance(out.get(field), list):
                out[field] = [x for x in out[field] if x not in v]
            continue
        sub = ctx.child(k)
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            merged = strategic_merge(out.get(k), v, sub)
            if merged is MISSING:
                out.pop(k, None)
            else:
                out[k] = merged
        elif isinstance(v, list):
            out[k] = _merge_list(out.get(k), v, sub)
        else:
            out[k] = v
    for field, order in orders.items():
        if isinstance(out.get(field), list):
            out[field] = _reorder(out[field], order, ctx.child(field))
    if isinstance(patch.get("$retainKeys"), list):
        out = {k: v for k, v in out.items() if k in patch["$retainKeys"]}
    return out


def _merge_list(cur, patch, ctx):
    kind, keys = ctx.list_kind()
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [i for i in copy.deepcopy(patch) if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    if kind == "set":
        out = list(cur or [])
        return out + [i for i in patch if i not in out]
    if kind != "map" or not isinstance(cur, list):
        return [i for i in copy.deepcopy(patch) if not (isinstance(i, dict) and i.get("$patch") == "delete")]
    out = copy.deepcopy(cur)
    for item in patch:
        if not isinstance(item, dict):
            return copy.deepcopy(patch)
        match = [i for i, c in enumerate(out) if isinstance(c, dict) and all(c.get(k) == item.get(k) for k in keys)]
        if item.get("$patch") == "delete":
            out = [c for i, c in enumerate(out) if i not in match]
        elif match:
            out[match[0]] = strategic_merge(out[match[0]], item, ctx.items())
        else:
            out.append({k: v for k, v in item.items() if k != "$patch"})
    return out


def _reorder(items, order, ctx):
    kind, keys = ctx.list_kind()

    def key(i):
        if kind == "map" and isinstance(i, dict):
            return json.dumps({k: i.get(k) for k in keys}, sort_keys=True)
        return json.dumps(i, sort_keys=True)
    pos = {key(o): n for n, o in enumerate(order)}
    return sorted(items, key=lambda i: pos.get(key(i), len(pos)))
