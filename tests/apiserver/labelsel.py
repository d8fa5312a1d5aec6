"""Label and field selectors, parsed from their query-string form.

Owns the grammar of k8s.io/apimachinery/pkg/labels (`a=b`, `a==b`, `a!=b`,
`a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`) and of
k8s.io/apimachinery/pkg/fields (`f=v`, `f==v`, `f!=v`, with `\\,` escapes).
A selector is a callable taking a dict (labels, or field name -> value).
"""

import re

from errors import bad_request

_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def _split_top(text):
    """Splits on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip() != ""]


def _check_key(key, whole):
    if not _KEY.match(key) or len(key.split("/")[-1]) > 63:
        raise bad_request('unable to parse requirement: values[0][%s]: Invalid value: "%s": name part must consist '
                          "of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                          "character" % (key, key) if key else "unable to parse requirement: " + whole)


def _check_value(value, key):
    if len(value) > 63 or not _LABEL_NAME.match(value):
        raise bad_request('unable to parse requirement: values[0][%s]: Invalid value: "%s": a valid label must be an '
                          "empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and "
                          "end with an alphanumeric character" % (key, value))


def parse_labels(text):
    """Returns a predicate over a labels dict; raises 400 on a syntax error."""
    if not text or not text.strip():
        return lambda labels: True
    reqs = []
    for part in _split_top(text):
        m = re.match(r"^(\S+)\s+(in|notin)\s*\((.*)\)$", part)
        if m:
            key, op = m.group(1), m.group(2)
            _check_key(key, part)
            values = {v.strip() for v in m.group(3).split(",") if v.strip() != ""}
            for v in values:
                _check_value(v, key)
            if op == "in":
                reqs.append(lambda l, k=key, vs=values: k in l and l[k] in vs)
            else:
                reqs.append(lambda l, k=key, vs=values: k not in l or l[k] not in vs)
            continue
        m = re.match(r"^(!?)\s*([^=!<>\s]+)$", part)
        if m:
            key = m.group(2)
            _check_key(key, part)
            if m.group(1):
                reqs.append(lambda l, k=key: k not in l)
            else:
                reqs.append(lambda l, k=key: k in l)
            continue
        m = re.match(r"^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(\S*)$", part)
        if not m:
            raise bad_request("unable to parse requirement: found '%s', expected: in, notin, =, ==, !=, gt, lt"
                              % part)
        key, op, value = m.groups()
        _check_key(key, part)
        if op in ("<", ">"):
            try:
                num = int(value)
            except ValueError:
                raise bad_request("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an "
                                  "integer")

            def cmp(l, k=key, o=op, n=num):
                try:
                    v = int(l[k])
                except (KeyError, ValueError):
                    return False
                return v > n if o == ">" else v < n
            reqs.append(cmp)
            continue
        _check_value(value, key)
        if op == "!=":
            reqs.append(lambda l, k=key, v=value: l.get(k) != v)
        else:
            reqs.append(lambda l, k=key, v=value: k in l and l[k] == v)
    return lambda labels: all(r(labels or {}) for r in reqs)


def _unescape_split(text, sep):
    out, cur, esc = [], "", False
    for ch in text:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\":
            esc = True
        elif ch in sep:
            out.append(cur)
            out.append(ch)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def parse_fields(text, supported):
    """Returns (predicate over a field dict, [(field, op, value)]); `supported`
    is the set of field labels this resource allows."""
    if not text or not text.strip():
        return (lambda fields: True), []
    terms = []
    pieces = _unescape_split(text, ",")
    for piece in pieces[::2]:
        if piece == "":
            continue
        m = re.match(r"^(.*?)(==|!=|=)(.*)$", piece)
        if not m:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (text, piece))
        field, op, value = m.group(1).strip(), m.group(2), m.group(3)
        if field not in supported:
            raise bad_request('field label not supported: %s' % field)
        terms.append((field, "!=" if op == "!=" else "=", value))

    def pred(fields):
        for field, op, value in terms:
            have = fields.get(field, "")
            if (have == value) != (op == "="):
                return False
        return True
    return pred, terms
