"""A small YAML subset reader (the standard library has none).

Owns `load(text)` for single-document, block-style YAML as Kubernetes
manifests write it: nested mappings and sequences by indentation,
`- key: value` items, plain / single- / double-quoted scalars, `|` and `>`
block scalars (with `-`/`+` chomping), flow collections written as JSON
(`[a, b]` and `{"a": 1}`, with unquoted simple words allowed), comments,
and the scalars null/~/true/false/numbers. Anchors, aliases, tags, merge
keys and multiple documents raise ValueError. kubectl itself sends JSON
(which is YAML) for server-side apply, so this only serves hand-written
requests.
"""

import json
import re

_NUM = re.compile(r"^[-+]?(\d+|\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?$")


def _scalar(text):
    t = text.strip()
    if t == "" or t in ("~", "null", "Null", "NULL"):
        return None
    if t in ("true", "True", "TRUE"):
        return True
    if t in ("false", "False", "FALSE"):
        return False
    if t[0] in "&*!":
        raise ValueError("anchors, aliases and tags are not supported: %s" % t)
    if t[0] == '"':
        return json.loads(t)
    if t[0] == "'":
        if not t.endswith("'") or len(t) < 2:
            raise ValueError("unterminated single-quoted scalar: %s" % t)
        return t[1:-1].replace("''", "'")
    if t[0] in "[{":
        return _flow(t)
    if re.match(r"^[-+]?\d+$", t):
        return int(t)
    if _NUM.match(t):
        return float(t)
    return t


def _flow(t):
    try:
        return json.loads(t)
    except ValueError:
        pass
    # Quote bare words so JSON can read `[a, b]` and `{a: 1}`.
    quoted = re.sub(r'(?<=[\[{,:])\s*([A-Za-z_./][A-Za-z0-9_./\-]*)\s*(?=[,\]}:])',
                    lambda m: json.dumps(m.group(1)) if m.group(1) not in ("true", "false", "null") else m.group(1), t)
    try:
        return json.loads(quoted)
    except ValueError:
        raise ValueError("unsupported flow collection: %s" % t)


def _strip_comment(line):
    out, quote = "", None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out += ch
    return out.rstrip()


class _Lines:
    def __init__(self, text):
        self.raw = text.replace("\t", "    ").splitlines()
        self.i = 0

    def skip_blank(self):
        while self.i < len(self.raw) and (not _strip_comment(self.raw[self.i]).strip()
                                           or self.raw[self.i].strip() in ("---",)):
            if self.raw[self.i].strip() == "---" and self.i > 0 and any(
                    _strip_comment(r).strip() for r in self.raw[:self.i]):
                raise ValueError("multiple documents are not supported")
            self.i += 1

    def peek(self):
        self.skip_blank()
        if self.i >= len(self.raw):
            return None, None
        line = _strip_comment(self.raw[self.i])
        return len(line) - len(line.lstrip(" ")), line.strip()


def _block_scalar(lines, header, indent):
    style, chomp = header[0], header[1:2]
    body = []
    block_indent = None
    while lines.i < len(lines.raw):
        line = lines.raw[lines.i]
        if line.strip() == "":
            body.append("")
            lines.i += 1
            continue
        ind = len(line) - len(line.lstrip(" "))
        if block_indent is None:
            if ind <= indent:
                break
            block_indent = ind
        if ind < block_indent:
            break
        body.append(line[block_indent:])
        lines.i += 1
    while body and body[-1] == "" and chomp != "+":
        body.pop()
    if style == "|":
        text = "\n".join(body)
    else:
        text = ""
        for ln in body:
            text += ("\n" if ln == "" else (" " if text and not text.endswith("\n") else "") + ln)
    if chomp != "-" and body:
        text += "\n"
    return text


def _value_after(lines, rest, indent):
    """The value of `key:` whose remainder is `rest`."""
    if rest.startswith("|") or rest.startswith(">"):
        return _block_scalar(lines, rest, indent)
    if rest:
        return _scalar(rest)
    ind, text = lines.peek()
    if text is None or ind < indent or (ind == indent and not text.startswith("- ") and text != "-"):
        return None
    return _node(lines, ind)


def _split_key(text):
    m = re.match(r'^("(?:[^"\\]|\\.)*"|\'(?:[^\']|\'\')*\'|[^:#]+?)\s*:(\s+(.*)|\s*)$', text)
    if not m or text.startswith("- ") or text[0] in "[{":
        return None
    key = m.group(1)
    key = _scalar(key) if key[0] in "'\"" else key.strip()
    return str(key), (m.group(3) or "").strip()


def _node(lines, indent):
    ind, text = lines.peek()
    if text is None:
        return None
    if text == "-" or text.startswith("- "):
        out = []
        while True:
            ind, text = lines.peek()
            if text is None or ind != indent or not (text == "-" or text.startswith("- ")):
                break
            rest = text[1:].strip()
            lines.i += 1
            if not rest:
                ind2, _ = lines.peek()
                out.append(_node(lines, ind2) if ind2 is not None and ind2 > indent else None)
                continue
            nested_seq = rest == "-" or rest.startswith("- ")
            if _split_key(rest) is None and not nested_seq:
                out.append(_value_after(lines, rest, indent) if rest[0] in "|>" else _scalar(rest))
                continue
            # A mapping or sequence that starts on the dash line: re-read it at the item's indent.
            item_indent = indent + 2 + (len(text[1:]) - len(text[1:].lstrip(" ")) - 1)
            lines.i -= 1
            lines.raw[lines.i] = " " * item_indent + rest
            out.append(_node(lines, item_indent))
        return out
    if _split_key(text) is None:
        lines.i += 1
        return _scalar(text)
    out = {}
    while True:
        ind, text = lines.peek()
        if text is None or ind != indent:
            if text is not None and ind > indent:
                raise ValueError("bad indentation at line %d" % (lines.i + 1))
            break
        kv = _split_key(text)
        if kv is None:
            raise ValueError("expected a key at line %d: %s" % (lines.i + 1, text))
        key, rest = kv
        if key == "<<":
            raise ValueError("merge keys are not supported")
        lines.i += 1
        out[key] = _value_after(lines, rest, indent)
    return out


def load(text):
    text = text.lstrip("\ufeff")
    stripped = text.strip()
    if stripped.startswith("{") or stripped.startswith("["):
        return json.loads(stripped)
    lines = _Lines(text)
    ind, first = lines.peek()
    if first is None:
        return None
    value = _node(lines, ind)
    if lines.peek()[1] is not None:
        raise ValueError("unexpected content at line %d" % (lines.i + 1))
    return value
