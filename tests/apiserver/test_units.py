#!/usr/bin/env python3
"""Table-driven checks of the test API server's pure parts: the CEL subset,
selectors, patches, the YAML subset, JSONPath and field-error wording.
Records "PASS apiserver: name" / "FAIL apiserver: name: why" lines in
$LIFEBOAT_RESULTS, like tests/lib/t.sh. Standard library only.
"""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cel  # noqa: E402
import labelsel  # noqa: E402
import managed  # noqa: E402
import patch  # noqa: E402
import schema  # noqa: E402
import tables  # noqa: E402
import yamlmini  # noqa: E402
from errors import ApiError  # noqa: E402

SUITE = os.environ.get("T_SUITE", "apiserver")
RESULTS = os.environ.get("LIFEBOAT_RESULTS", "/dev/null")
failed = 0


def record(name, problems):
    global failed
    line = "PASS %s: %s" % (SUITE, name) if not problems else \
        "FAIL %s: %s: %s" % (SUITE, name, "; ".join(problems)[:1500])
    failed += bool(problems)
    with open(RESULTS, "a") as f:
        f.write(line + "\n")
    print("  ok   %s" % name if not problems else "  FAIL %s: %s" % (name, problems))


def cel_cases():
    obj = {"a": 1, "s": "zstd:3", "l": [1, 2, 3], "m": {"k": "v"}, "o": {"x": None}}
    cases = [
        ("self.a == 1", obj, None, True),
        ("self.a + 2 * 3 == 7", obj, None, True),
        ("7 / 2 == 3 && -7 / 2 == -3 && 7 % 3 == 1", obj, None, True),
        ("has(self.a) != has(self.b)", obj, None, True),
        ("self.l.size() <= 10 && size(self.l) == 3", obj, None, True),
        ("self.s.matches('^(zstd|gzip)(:[0-9]+)?$')", obj, None, True),
        ("self.s.startsWith('zs') && self.s.endsWith(':3') && self.s.contains('td')", obj, None, True),
        ("'k' in self.m && 2 in self.l && !(9 in self.l)", obj, None, True),
        ("self.l.all(x, x > 0) && self.l.exists(x, x == 2) && self.l.exists_one(x, x > 2)", obj, None, True),
        ("self.l.map(x, x * 2) == [2, 4, 6] && self.l.filter(x, x > 1).size() == 2", obj, None, True),
        ("self.a == oldSelf.a", obj, {"a": 2}, False),
        ("self.a > 0 ? self.s == 'zstd:3' : false", obj, None, True),
        ("self.nope == 1 || true", obj, None, True),
        ("false && self.nope == 1", obj, None, False),
        ("self.l.isSorted() && self.l.sum() == 6 && self.l.max() == 3", obj, None, True),
        ("int('42') == 42 && string(7) == '7' && double(1) == 1.0", obj, None, True),
        ("self.m.all(k, k == 'k')", obj, None, True),
        ("[has(self.a), has(self.b), has(self.m)].filter(x, x).size() == 2", obj, None, True),
    ]
    problems = []
    for src, s, old, want in cases:
        try:
            got = cel.Program(src).eval(s, old)
        except cel.CelError as e:
            got = "error: %s" % e
        if got != want:
            problems.append("%s: got %r, want %r" % (src, got, want))
    for src in ("self.nope == 1",):
        try:
            cel.Program(src).eval(obj)
            problems.append("%s: no error" % src)
        except cel.CelError:
            pass
    for src in ("timestamp(self.t) > now", "self.x.quantity()", "self.a ==", "duration('1h') > 0"):
        try:
            cel.Program(src)
            problems.append("%s compiled" % src)
        except cel.CelError:
            pass
    if not cel.Program("self.a == oldSelf.a").uses_old_self:
        problems.append("transition rule not detected")
    return problems


def selector_cases():
    labels = {"app": "shop", "tier": "db", "n": "5"}
    cases = [("app=shop", True), ("app==shop,tier=db", True), ("app!=shop", False), ("app in (shop, blog)", True),
             ("app notin (shop)", False), ("tier", True), ("!tier", False), ("!missing", True),
             ("missing!=x", True), ("n>3", True), ("n<3", False), ("app in (blog),tier", False), ("", True)]
    problems = []
    for text, want in cases:
        if labelsel.parse_labels(text)(labels) != want:
            problems.append("%r" % text)
    for bad in ("app=", "a b c", "app in shop", "=x"):
        try:
            labelsel.parse_labels(bad)
            if bad != "app=":  # an empty value is valid
                problems.append("%r parsed" % bad)
        except ApiError:
            pass
    pred, terms = labelsel.parse_fields("metadata.name=a\\,b,metadata.namespace!=x", {"metadata.name",
                                                                                      "metadata.namespace"})
    if not pred({"metadata.name": "a,b", "metadata.namespace": "y"}) or terms[0] != ("metadata.name", "=", "a,b"):
        problems.append("field selector escapes")
    try:
        labelsel.parse_fields("spec.x=1", {"metadata.name"})
        problems.append("unsupported field accepted")
    except ApiError as e:
        if "field label not supported: spec.x" not in e.message:
            problems.append(e.message)
    return problems


def patch_cases():
    problems = []
    doc = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    if patch.merge_patch(doc, {"a": {"b": None, "e": 2}, "d": None}) != {"a": {"c": [1, 2], "e": 2}}:
        problems.append("merge patch")
    got = patch.json_patch(doc, [{"op": "add", "path": "/a/c/-", "value": 3}, {"op": "replace", "path": "/d",
                                                                                "value": "y"},
                                 {"op": "remove", "path": "/a/b"}, {"op": "copy", "from": "/d", "path": "/f"},
                                 {"op": "move", "from": "/f", "path": "/g"}, {"op": "test", "path": "/g",
                                                                             "value": "y"}])
    if got != {"a": {"c": [1, 2, 3]}, "d": "y", "g": "y"}:
        problems.append("json patch: %r" % got)
    try:
        patch.json_patch(doc, [{"op": "test", "path": "/d", "value": "nope"}])
        problems.append("json patch test did not fail")
    except ApiError as e:
        if e.code != 422:
            problems.append("json patch test code %d" % e.code)
    pod = {"spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]},
                                   {"name": "b", "image": "y"}]},
           "metadata": {"finalizers": ["f1"]}}
    smp = {"spec": {"containers": [{"name": "a", "image": "x2", "env": [{"name": "B", "value": "2"}]},
                                   {"name": "b", "$patch": "delete"}]},
           "metadata": {"finalizers": ["f2"]}}
    got = patch.strategic_merge(pod, smp, managed.Ctx(None, None, True))
    want = {"spec": {"containers": [{"name": "a", "image": "x2", "env": [{"name": "A", "value": "1"},
                                                                          {"name": "B", "value": "2"}]}]},
            "metadata": {"finalizers": ["f1", "f2"]}}
    if got != want:
        problems.append("strategic merge: %r" % got)
    got = patch.strategic_merge({"data": {"a": "1", "b": "2"}}, {"data": {"$patch": "replace", "c": "3"}},
                                managed.Ctx(None, None, True))
    if got != {"data": {"c": "3"}}:
        problems.append("$patch: replace: %r" % got)
    return problems


def yaml_cases():
    text = """# comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: x   # trailing comment
  labels: {app: shop, "tier": db}
data:
  plain: hello world
  quoted: "a: b"
  single: 'it''s'
  number: 42
  float: 1.5
  yes: true
  nothing: null
  literal: |
    line 1
    line 2
  folded: >-
    folded
    text
list:
- a
- b: 1
  c: [x, y]
- - nested
"""
    want = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"app": "shop",
                                                                                        "tier": "db"}},
            "data": {"plain": "hello world", "quoted": "a: b", "single": "it's", "number": 42, "float": 1.5,
                     "yes": True, "nothing": None, "literal": "line 1\nline 2\n", "folded": "folded text"},
            "list": ["a", {"b": 1, "c": ["x", "y"]}, ["nested"]]}
    problems = []
    try:
        got = yamlmini.load(text)
        if got != want:
            problems.append("got %r" % got)
    except ValueError as e:
        problems.append("error %s" % e)
    for bad in ("a: &x 1\nb: *x\n", "a: 1\n---\nb: 2\n"):
        try:
            yamlmini.load(bad)
            problems.append("accepted %r" % bad)
        except ValueError:
            pass
    return problems


def jsonpath_cases():
    obj = {"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}],
                      "items": [{"n": 1}, {"n": 2}]}}
    problems = []
    for path, want in ((".status.conditions[?(@.type==\"Ready\")].status", ["True"]),
                       (".status.items[0].n", [1]), (".status.items[*].n", [1, 2]), (".status.nope", [])):
        got = tables.eval_jsonpath(tables.compile_jsonpath(path), obj)
        if got != want:
            problems.append("%s: %r" % (path, got))
    for secs, want in ((5, "5s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (3 * 3600 + 60, "3h1m"),
                       (50 * 3600, "2d2h"), (400 * 86400, "400d"), (-5, "<invalid>")):
        if tables.human_duration(secs) != want:
            problems.append("human_duration(%d) = %s" % (secs, tables.human_duration(secs)))
    return problems


def schema_cases():
    s = {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "string", "enum": ["x", "y"]}, "n": {"type": "integer", "minimum": 1, "default": 3},
        "l": {"type": "array", "maxItems": 1, "items": {"type": "string"}},
        "m": {"type": "object", "additionalProperties": {"type": "string"}},
        "p": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    problems = []
    v = {"a": "z", "n": 0, "l": ["1", "2"], "m": {"k": 1}, "p": {"any": 1}, "extra": 1}
    unknown = []
    v = schema.apply_defaults(s, schema.prune(s, v, "spec", unknown))
    if unknown != ["spec.extra"] or "extra" in v or v["p"] != {"any": 1}:
        problems.append("prune: %r %r" % (unknown, v))
    val = schema.Validator({})
    val.validate(s, v, "spec")
    msgs = sorted(e.message() for e in val.errs)
    want = sorted(['spec.a: Unsupported value: "z": supported values: "x", "y"',
                   "spec.n: Invalid value: 0: spec.n in body should be greater than or equal to 1",
                   "spec.l: Too many: 2: must have at most 1 items",
                   'spec.m[k]: Invalid value: "integer": spec.m[k] in body must be of type string: "integer"'])
    if msgs != want:
        problems.append("messages %r" % msgs)
    d = schema.apply_defaults(s, {"a": "x"})
    if d.get("n") != 3:
        problems.append("default not applied")
    val = schema.Validator({})
    val.validate(s, {}, "spec")
    if [e.message() for e in val.errs] != ["spec.a: Required value"]:
        problems.append("required: %r" % [e.message() for e in val.errs])
    return problems


def main():
    record("unit: CEL subset evaluates and refuses what it cannot", cel_cases())
    record("unit: label and field selectors", selector_cases())
    record("unit: merge, JSON and strategic merge patches", patch_cases())
    record("unit: YAML subset reader", yaml_cases())
    record("unit: printer-column JSONPath and ages", jsonpath_cases())
    record("unit: structural schema pruning, defaulting, validation wording", schema_cases())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
