"""Structural-schema handling for custom resources, as apiextensions does it.

Owns, for one CRD version's `openAPIV3Schema`:
- pruning: unknown fields are dropped (and reported, so `fieldValidation=
  Strict` can refuse them with `strict decoding error: unknown field "x"`),
  `null` for a non-nullable field is dropped;
- defaulting (`default`);
- validation: type, nullable, enum, pattern, format (date-time, date, byte,
  uuid, int32, int64), minimum/maximum (+exclusive), multipleOf,
  min/maxLength, min/maxItems, min/maxProperties, required,
  x-kubernetes-int-or-string, x-kubernetes-list-type set/map uniqueness,
  allOf/anyOf/oneOf/not, and `x-kubernetes-validations` through cel.py;
- error wording of kube-openapi + apiextensions (`spec.x in body should
  match '^a$'`, `Unsupported value`, `Required value`).
"""

import base64
import copy
import datetime
import json
import re

import cel
from errors import FieldError, not_supported, required

OBJECT_META_FIELDS = {
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
    "managedFields",
}


def child(path, key):
    return key if not path else path + "." + key


def index(path, i):
    return "%s[%d]" % (path, i)


def mapkey(path, k):
    return "%s[%s]" % (path, k)


def _nullable(s):
    return isinstance(s, dict) and s.get("nullable") is True


def prune(s, v, path, unknown):
    """Drops fields the schema does not know (recording their paths in
    `unknown`) and nulls of non-nullable fields; returns the pruned value."""
    if not isinstance(s, dict):
        return v
    if isinstance(v, dict):
        props = s.get("properties")
        addl = s.get("additionalProperties")
        preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
        embedded = s.get("x-kubernetes-embedded-resource") is True
        for k in list(v.keys()):
            sub = None
            if props is not None and k in props:
                sub = props[k]
            elif isinstance(addl, dict):
                sub = addl
            elif embedded and k in ("apiVersion", "kind", "metadata"):
                if k == "metadata" and isinstance(v[k], dict):
                    for mk in list(v[k]):
                        if mk not in OBJECT_META_FIELDS:
                            unknown.append(child(child(path, k), mk))
                            del v[k][mk]
                continue
            elif addl is True or preserve:
                continue
            else:
                unknown.append(child(path, k) if not isinstance(addl, dict) else mapkey(path, k))
                del v[k]
                continue
            if v[k] is None and not _nullable(sub):
                del v[k]
                continue
            sub_path = child(path, k) if props is not None and k in props else mapkey(path, k)
            v[k] = prune(sub, v[k], sub_path, unknown)
    elif isinstance(v, list) and isinstance(s.get("items"), dict):
        for i, item in enumerate(v):
            v[i] = prune(s["items"], item, index(path, i), unknown)
    return v


def apply_defaults(s, v):
    """Fills in `default` values for absent properties, recursively."""
    if not isinstance(s, dict):
        return v
    if isinstance(v, dict):
        for k, sub in (s.get("properties") or {}).items():
            if k not in v and isinstance(sub, dict) and "default" in sub:
                v[k] = copy.deepcopy(sub["default"])
            if k in v:
                v[k] = apply_defaults(sub, v[k])
        addl = s.get("additionalProperties")
        if isinstance(addl, dict):
            for k in v:
                if k not in (s.get("properties") or {}):
                    v[k] = apply_defaults(addl, v[k])
    elif isinstance(v, list) and isinstance(s.get("items"), dict):
        for i, item in enumerate(v):
            v[i] = apply_defaults(s["items"], item)
    return v


def _type_of(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "integer" if v.is_integer() else "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _num(x):
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


_FORMATS = {
    "date-time": re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"),
    "datetime": re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"),
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "uuid": re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"),
}


def _format_ok(fmt, v):
    if fmt in _FORMATS:
        if not _FORMATS[fmt].match(v):
            return False
        if fmt in ("date-time", "datetime", "date"):
            try:
                datetime.date(int(v[0:4]), int(v[5:7]), int(v[8:10]))
            except ValueError:
                return False
        return True
    if fmt == "byte":
        try:
            base64.b64decode(v, validate=True)
            return True
        except ValueError:
            return False
    return True


class Validator:
    """Validates one object (and its previous version, for CEL transition
    rules) against a structural schema, collecting FieldErrors."""

    def __init__(self, programs):
        self.programs = programs  # id(rule dict) -> cel.Program
        self.errs = []

    def _inv(self, path, value, detail):
        self.errs.append(FieldError("Invalid", path, value, detail))

    def validate(self, s, v, path, old=None, has_old=False):
        if not isinstance(s, dict):
            return
        if v is None:
            if not _nullable(s) and s.get("type"):
                self.errs.append(FieldError("TypeInvalid", path, "null", '%s in body must be of type %s: "null"'
                                            % (path, s["type"])))
            return
        t = s.get("type")
        actual = _type_of(v)
        if s.get("x-kubernetes-int-or-string"):
            if actual not in ("integer", "string"):
                self.errs.append(FieldError("TypeInvalid", path, actual, '%s in body must be of type integer,string: '
                                            '"%s"' % (path, actual)))
                return
        elif t and not (t == actual or (t == "number" and actual == "integer")):
            self.errs.append(FieldError("TypeInvalid", path, actual, '%s in body must be of type %s: "%s"'
                                        % (path, t, actual)))
            return
        n0 = len(self.errs)
        if "enum" in s and not any(isinstance(v, bool) == isinstance(e, bool) and v == e for e in s["enum"]):
            self.errs.append(not_supported(path, v, [e if isinstance(e, str) else json.dumps(e)
                                                     for e in s["enum"]]))
        if isinstance(v, str):
            if "pattern" in s and re.search(s["pattern"], v) is None:
                self._inv(path, v, "%s in body should match '%s'" % (path, s["pattern"]))
            if "maxLength" in s and len(v) > s["maxLength"]:
                self.errs.append(FieldError("TooLong", path, v, "may not be longer than %d" % s["maxLength"]))
            if "minLength" in s and len(v) < s["minLength"]:
                self._inv(path, v, "%s in body should be at least %d chars long" % (path, s["minLength"]))
            if "format" in s and not _format_ok(s["format"], v):
                self._inv(path, v, '%s in body must be of type %s: "%s"' % (path, s["format"], v))
        if actual in ("integer", "number") and not isinstance(v, str):
            if "maximum" in s:
                if s.get("exclusiveMaximum") and v >= s["maximum"]:
                    self._inv(path, v, "%s in body should be less than %s" % (path, _num(s["maximum"])))
                elif v > s["maximum"]:
                    self._inv(path, v, "%s in body should be less than or equal to %s" % (path, _num(s["maximum"])))
            if "minimum" in s:
                if s.get("exclusiveMinimum") and v <= s["minimum"]:
                    self._inv(path, v, "%s in body should be greater than %s" % (path, _num(s["minimum"])))
                elif v < s["minimum"]:
                    self._inv(path, v, "%s in body should be greater than or equal to %s"
                              % (path, _num(s["minimum"])))
            if s.get("multipleOf") and (v / s["multipleOf"]) != int(v / s["multipleOf"]):
                self._inv(path, v, "%s in body should be a multiple of %s" % (path, _num(s["multipleOf"])))
        if isinstance(v, list):
            if "maxItems" in s and len(v) > s["maxItems"]:
                self.errs.append(FieldError("TooMany", path, len(v), "must have at most %d items" % s["maxItems"]))
            if "minItems" in s and len(v) < s["minItems"]:
                self._inv(path, len(v), "%s in body should have at least %d items" % (path, s["minItems"]))
            self._list_type(s, v, path)
            items = s.get("items")
            old_by_key = self._old_items(s, old) if has_old else {}
            for i, item in enumerate(v):
                key = self._item_key(s, item, i)
                self.validate(items, item, index(path, i), old_by_key.get(key), key in old_by_key)
        if isinstance(v, dict):
            if "maxProperties" in s and len(v) > s["maxProperties"]:
                self.errs.append(FieldError("TooMany", path, len(v), "must have at most %d items"
                                            % s["maxProperties"]))
            if "minProperties" in s and len(v) < s["minProperties"]:
                self._inv(path, len(v), "%s in body should have at least %d properties" % (path, s["minProperties"]))
            for r in s.get("required") or []:
                if r not in v:
                    self.errs.append(required(child(path, r)))
            props = s.get("properties") or {}
            addl = s.get("additionalProperties")
            oldd = old if isinstance(old, dict) else {}
            for k, sub_v in v.items():
                if k in props:
                    self.validate(props[k], sub_v, child(path, k), oldd.get(k), has_old and k in oldd)
                elif isinstance(addl, dict):
                    self.validate(addl, sub_v, mapkey(path, k), oldd.get(k), has_old and k in oldd)
        for sub in s.get("allOf") or []:
            self.validate(_value_only(sub, s), v, path, old, has_old)
        if s.get("anyOf"):
            if not any(_ok(_value_only(sub, s), v, path) for sub in s["anyOf"]):
                self._inv(path, v, "%s in body must be of type %s" % (path, "anyOf"))
        if s.get("oneOf"):
            if sum(1 for sub in s["oneOf"] if _ok(_value_only(sub, s), v, path)) != 1:
                self._inv(path, v, "%s in body must validate one and only one schema (oneOf)" % path)
        if isinstance(s.get("not"), dict) and _ok(_value_only(s["not"], s), v, path):
            self._inv(path, v, "%s in body should not validate the given schema" % path)
        if len(self.errs) == n0:
            self._cel(s, v, path, old, has_old)

    def _item_key(self, s, item, i):
        if s.get("x-kubernetes-list-type") == "map" and isinstance(item, dict):
            return json.dumps([item.get(k) for k in s.get("x-kubernetes-list-map-keys") or []])
        if s.get("x-kubernetes-list-type") == "set":
            return json.dumps(item, sort_keys=True)
        return None

    def _old_items(self, s, old):
        # Transition rules on list items are only correlatable for map/set lists.
        if not isinstance(old, list) or s.get("x-kubernetes-list-type") not in ("map", "set"):
            return {}
        return {self._item_key(s, item, i): item for i, item in enumerate(old)}

    def _list_type(self, s, v, path):
        lt = s.get("x-kubernetes-list-type")
        if lt not in ("set", "map"):
            return
        seen = set()
        for i, item in enumerate(v):
            key = self._item_key(s, item, i)
            if key in seen:
                shown = item if lt == "set" else {k: item.get(k) for k in s.get("x-kubernetes-list-map-keys") or []}
                self.errs.append(FieldError("Duplicate", index(path, i), shown))
            seen.add(key)

    def _cel(self, s, v, path, old, has_old):
        for rule in s.get("x-kubernetes-validations") or []:
            prog = self.programs.get(id(rule))
            if prog is None:
                continue
            if prog.uses_old_self and not has_old and not rule.get("optionalOldSelf"):
                continue
            try:
                ok = prog.eval(v, old if has_old else None)
            except cel.CelError as e:
                self._inv(path, s.get("type", "object"), "%s: %s" % (rule.get("rule"), e))
                continue
            if ok is True:
                continue
            msg = rule.get("message") or "failed rule: %s" % rule.get("rule")
            where = path
            if rule.get("fieldPath"):
                where = path + rule["fieldPath"] if rule["fieldPath"].startswith("[") else \
                    child(path, rule["fieldPath"].lstrip("."))
            reason = rule.get("reason") or "FieldValueInvalid"
            if reason == "FieldValueRequired":
                self.errs.append(FieldError("Required", where, None, msg))
            elif reason == "FieldValueForbidden":
                self.errs.append(FieldError("Forbidden", where, "", msg))
            elif reason == "FieldValueDuplicate":
                self.errs.append(FieldError("Duplicate", where, s.get("type", "object"), msg))
            else:
                self._inv(where, s.get("type", "object"), msg)


def _value_only(sub, parent):
    # allOf/anyOf/oneOf branches of structural schemas carry no types of their own.
    if "type" not in sub and parent.get("type"):
        sub = dict(sub, type=parent["type"])
    return sub


def _ok(s, v, path):
    val = Validator({})
    val.validate(s, v, path)
    return not val.errs


def compile_rules(s, path, programs, errs):
    """Compiles every x-kubernetes-validations rule below `s`; records compile
    errors (including rules beyond the supported CEL subset) in `errs`."""
    if not isinstance(s, dict):
        return
    for i, rule in enumerate(s.get("x-kubernetes-validations") or []):
        try:
            programs[id(rule)] = cel.Program(rule.get("rule", ""))
        except cel.CelError as e:
            errs.append(FieldError("Invalid", "%s.x-kubernetes-validations[%d].rule" % (path, i), rule.get("rule"),
                                   "compilation failed: ERROR: <input>: %s" % e))
    for k, sub in (s.get("properties") or {}).items():
        compile_rules(sub, "%s.properties[%s]" % (path, k), programs, errs)
    if isinstance(s.get("items"), dict):
        compile_rules(s["items"], path + ".items", programs, errs)
    if isinstance(s.get("additionalProperties"), dict):
        compile_rules(s["additionalProperties"], path + ".additionalProperties", programs, errs)
    for key in ("allOf", "anyOf", "oneOf"):
        for j, sub in enumerate(s.get(key) or []):
            compile_rules(sub, "%s.%s[%d]" % (path, key, j), programs, errs)


def structural_errors(s, path="spec.validation.openAPIV3Schema"):
    """The few structural-schema rules worth enforcing on CRD creation."""
    errs = []

    def walk(node, p, root=False):
        if not isinstance(node, dict):
            return
        if not node.get("type") and not node.get("x-kubernetes-int-or-string") \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            errs.append(required(p + ".type", "must not be empty for specified object fields")
                        if not root else required(p + ".type", "must not be empty at the root"))
        if node.get("type") == "array" and not isinstance(node.get("items"), dict):
            errs.append(required(p + ".items", "must be specified"))
        if isinstance(node.get("properties"), dict) and isinstance(node.get("additionalProperties"), dict):
            errs.append(FieldError("Forbidden", p + ".additionalProperties", "",
                                   "additionalProperties and properties are mutual exclusive"))
        for k, sub in (node.get("properties") or {}).items():
            walk(sub, "%s.properties[%s]" % (p, k))
        if isinstance(node.get("items"), dict):
            walk(node["items"], p + ".items")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], p + ".additionalProperties")
    walk(s, path, True)
    return errs
