"""A small evaluator for the CEL subset used in CRD `x-kubernetes-validations`.

Owns parsing and evaluation of rules such as `self.x == oldSelf.x`,
`has(self.a) != has(self.b)`, `self.size() <= 10`,
`self.all(k, k.name != '')`, `self.schedule.matches('^[0-9 */,-]+$')`.

Supported: literals (int, uint, double, string, bool, null, lists, maps),
`self` and `oldSelf`, field selection, indexing, `has()`, the operators
`! - * / % + - < <= > >= == != in && || ?:`, the macros `all`, `exists`,
`exists_one`, `map`, `filter`, and the functions `size`, `startsWith`,
`endsWith`, `contains`, `matches`, `lowerAscii`, `upperAscii`, `trim`,
`split`, `join`, `indexOf`, `lastIndexOf`, `int`, `uint`, `double`,
`string`, `bool`, `isSorted`, `sum`, `min`, `max`, `type`.
Anything else is a compile error (`CelError`), so a CRD whose rules go
beyond the subset is refused at creation instead of silently accepted.
Not supported: timestamps, durations, quantities, optionals, cost limits.
"""

import re


class CelError(Exception):
    pass


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[uU]?|0[xX][0-9a-fA-F]+[uU]?)
  | (?P<str>[rR]?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"))
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%!<>?:.,()\[\]{}])
""", re.X)

_FUNCS = {"size", "startsWith", "endsWith", "contains", "matches", "lowerAscii", "upperAscii", "trim", "split",
          "join", "indexOf", "lastIndexOf", "int", "uint", "double", "string", "bool", "isSorted", "sum", "min",
          "max", "type", "has"}
_MACROS = {"all", "exists", "exists_one", "map", "filter"}


def _tokens(src):
    pos, out = 0, []
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            raise CelError("Syntax error: token recognition error at: '%s'" % src[pos])
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        out.append((kind, m.group(kind)))
    out.append(("end", ""))
    return out


def _unquote(tok):
    raw = tok[0] in "rR"
    body = tok[2:-1] if raw else tok[1:-1]
    if raw:
        return body
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), body)


class _Parser:
    """Recursive descent over CEL's grammar, producing tuples."""

    def __init__(self, src):
        self.toks = _tokens(src)
        self.i = 0

    def peek(self, value=None):
        kind, val = self.toks[self.i]
        if value is None:
            return kind, val
        return val == value and kind in ("op", "id")

    def take(self, value=None):
        kind, val = self.toks[self.i]
        if value is not None and val != value:
            raise CelError("Syntax error: expected '%s', found '%s'" % (value, val or "<EOF>"))
        self.i += 1
        return kind, val

    def parse(self):
        e = self.expr()
        if self.toks[self.i][0] != "end":
            raise CelError("Syntax error: unexpected '%s'" % self.toks[self.i][1])
        return e

    def expr(self):
        c = self.or_()
        if self.peek("?"):
            self.take()
            a = self.expr()
            self.take(":")
            b = self.expr()
            return ("cond", c, a, b)
        return c

    def or_(self):
        e = self.and_()
        while self.peek("||"):
            self.take()
            e = ("or", e, self.and_())
        return e

    def and_(self):
        e = self.rel()
        while self.peek("&&"):
            self.take()
            e = ("and", e, self.rel())
        return e

    def rel(self):
        e = self.add()
        while True:
            k, v = self.peek()
            if (k == "op" and v in ("==", "!=", "<", "<=", ">", ">=")) or (k == "id" and v == "in"):
                self.take()
                e = ("bin", v, e, self.add())
            else:
                return e

    def add(self):
        e = self.mul()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            e = ("bin", op, e, self.mul())
        return e

    def mul(self):
        e = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/", "%"):
            op = self.take()[1]
            e = ("bin", op, e, self.unary())
        return e

    def unary(self):
        if self.peek("!"):
            self.take()
            return ("not", self.unary())
        if self.peek("-"):
            self.take()
            return ("neg", self.unary())
        return self.member()

    def args(self):
        out = []
        if not self.peek(")"):
            out.append(self.expr())
            while self.peek(","):
                self.take()
                out.append(self.expr())
        self.take(")")
        return out

    def member(self):
        e = self.primary()
        while True:
            if self.peek("."):
                self.take()
                kind, name = self.take()
                if kind != "id":
                    raise CelError("Syntax error: expected a field name, found '%s'" % name)
                if self.peek("("):
                    self.take()
                    args = self.args() if name not in _MACROS else None
                    if name in _MACROS:
                        kind, var = self.take()
                        if kind != "id":
                            raise CelError("Syntax error: %s() needs a variable name" % name)
                        self.take(",")
                        body = self.expr()
                        self.take(")")
                        e = ("macro", name, e, var, body)
                    else:
                        if name not in _FUNCS:
                            raise CelError("undeclared reference to '%s' (not supported by the test API server's "
                                           "CEL subset)" % name)
                        e = ("call", name, e, args)
                else:
                    e = ("sel", e, name)
            elif self.peek("["):
                self.take()
                idx = self.expr()
                self.take("]")
                e = ("idx", e, idx)
            else:
                return e

    def primary(self):
        kind, val = self.take()
        if kind == "num":
            if val.lower().startswith("0x"):
                return ("lit", int(val.rstrip("uU"), 16))
            if val[-1] in "uU":
                return ("lit", int(val[:-1]))
            if any(c in val for c in ".eE"):
                return ("lit", float(val))
            return ("lit", int(val))
        if kind == "str":
            return ("lit", _unquote(val))
        if kind == "id":
            if val in ("true", "false"):
                return ("lit", val == "true")
            if val == "null":
                return ("lit", None)
            if self.peek("("):
                self.take()
                if val == "has":
                    arg = self.expr()
                    self.take(")")
                    if arg[0] != "sel":
                        raise CelError("invalid argument to has() macro")
                    return ("has", arg[1], arg[2])
                if val not in _FUNCS:
                    raise CelError("undeclared reference to '%s' (not supported by the test API server's CEL "
                                   "subset)" % val)
                return ("call", val, None, self.args())
            return ("id", val)
        if val == "(":
            e = self.expr()
            self.take(")")
            return e
        if val == "[":
            items = []
            if not self.peek("]"):
                items.append(self.expr())
                while self.peek(","):
                    self.take()
                    if self.peek("]"):
                        break
                    items.append(self.expr())
            self.take("]")
            return ("list", items)
        if val == "{":
            pairs = []
            if not self.peek("}"):
                while True:
                    k = self.expr()
                    self.take(":")
                    pairs.append((k, self.expr()))
                    if not self.peek(","):
                        break
                    self.take()
            self.take("}")
            return ("map", pairs)
        raise CelError("Syntax error: mismatched input '%s'" % (val or "<EOF>"))


def _refs(node, acc):
    if isinstance(node, tuple):
        if node[0] == "id":
            acc.add(node[1])
        for part in node[1:]:
            if isinstance(part, (tuple, list)):
                _refs(part, acc)
    elif isinstance(node, list):
        for part in node:
            _refs(part, acc)
    return acc


class Program:
    """A compiled rule; `uses_old_self` marks a transition rule."""

    def __init__(self, src):
        self.src = src
        self.ast = _Parser(src).parse()
        refs = _refs(self.ast, set())
        self.uses_old_self = "oldSelf" in refs

    def eval(self, self_value, old_self=None):
        return _eval(self.ast, {"self": self_value, "oldSelf": old_self})


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _eq(a, b):
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_eq(a[k], b[k]) for k in a)
    return a == b


def _typename(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "map"
    return "null_type"


def _eval(node, env):
    op = node[0]
    if op == "lit":
        return node[1]
    if op == "id":
        if node[1] not in env:
            raise CelError("undeclared reference to '%s'" % node[1])
        return env[node[1]]
    if op == "sel":
        target = _eval(node[1], env)
        if not isinstance(target, dict):
            raise CelError("no such key: %s" % node[2])
        if node[2] not in target:
            raise CelError("no such key: %s" % node[2])
        return target[node[2]]
    if op == "has":
        target = _eval(node[1], env)
        return isinstance(target, dict) and node[2] in target
    if op == "idx":
        target, idx = _eval(node[1], env), _eval(node[2], env)
        try:
            if isinstance(target, list) and not isinstance(idx, int):
                raise CelError("invalid list index")
            return target[idx]
        except (KeyError, IndexError, TypeError):
            raise CelError("no such key: %s" % (idx,))
    if op == "list":
        return [_eval(e, env) for e in node[1]]
    if op == "map":
        return {_eval(k, env): _eval(v, env) for k, v in node[1]}
    if op == "not":
        v = _eval(node[1], env)
        if not isinstance(v, bool):
            raise CelError("no such overload: !%s" % _typename(v))
        return not v
    if op == "neg":
        v = _eval(node[1], env)
        if not _is_num(v):
            raise CelError("no such overload: -%s" % _typename(v))
        return -v
    if op in ("and", "or"):
        # CEL's logical operators are commutative over errors.
        results = []
        for sub in node[1:]:
            try:
                v = _eval(sub, env)
                if not isinstance(v, bool):
                    raise CelError("no matching overload for '%s'" % op)
                results.append(v)
            except CelError as e:
                results.append(e)
        short = False if op == "and" else True
        if short in results:
            return short
        for r in results:
            if isinstance(r, CelError):
                raise r
        return not short
    if op == "cond":
        c = _eval(node[1], env)
        if not isinstance(c, bool):
            raise CelError("no matching overload for '?:'")
        return _eval(node[2] if c else node[3], env)
    if op == "bin":
        return _binop(node[1], _eval(node[2], env), _eval(node[3], env))
    if op == "macro":
        return _macro(node, env)
    if op == "call":
        target = _eval(node[2], env) if node[2] is not None else None
        args = [_eval(a, env) for a in node[3]]
        return _call(node[1], target, node[2] is not None, args)
    raise CelError("unsupported expression")


def _binop(op, a, b):
    if op == "==":
        return _eq(a, b)
    if op == "!=":
        return not _eq(a, b)
    if op == "in":
        if isinstance(b, list):
            return any(_eq(a, x) for x in b)
        if isinstance(b, dict):
            return a in b
        raise CelError("no such overload: in %s" % _typename(b))
    if op in ("<", "<=", ">", ">="):
        if not ((_is_num(a) and _is_num(b)) or (isinstance(a, str) and isinstance(b, str))
                or (isinstance(a, bool) and isinstance(b, bool))):
            raise CelError("no such overload: %s %s %s" % (_typename(a), op, _typename(b)))
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op == "+":
        if (isinstance(a, str) and isinstance(b, str)) or (isinstance(a, list) and isinstance(b, list)):
            return a + b
    if op in ("+", "-", "*", "/", "%"):
        if not (_is_num(a) and _is_num(b)) or isinstance(a, float) != isinstance(b, float):
            raise CelError("no such overload: %s %s %s" % (_typename(a), op, _typename(b)))
        if op in ("/", "%") and b == 0 and isinstance(a, int):
            raise CelError("division by zero" if op == "/" else "modulus by zero")
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b if isinstance(a, float) else int(a / b)
        return a - b * int(a / b) if isinstance(a, int) else a % b
    raise CelError("unsupported operator %s" % op)


def _macro(node, env):
    _, name, target_node, var, body = node
    target = _eval(target_node, env)
    items = list(target.keys()) if isinstance(target, dict) else target
    if not isinstance(items, list):
        raise CelError("%s() applies to lists and maps" % name)

    def run(item):
        sub = dict(env)
        sub[var] = item
        return _eval(body, sub)
    if name == "map":
        return [run(x) for x in items]
    if name == "filter":
        return [x for x in items if run(x) is True]
    results = []
    for x in items:
        try:
            results.append(run(x))
        except CelError as e:
            results.append(e)
    if name == "all":
        if False in results:
            return False
        for r in results:
            if isinstance(r, CelError):
                raise r
        return True
    if name == "exists":
        if True in results:
            return True
        for r in results:
            if isinstance(r, CelError):
                raise r
        return False
    for r in results:
        if isinstance(r, CelError):
            raise r
    return sum(1 for r in results if r is True) == 1


def _call(name, target, has_target, args):
    if has_target:
        args = [target] + args
    if name == "size":
        if len(args) != 1 or not isinstance(args[0], (str, list, dict)):
            raise CelError("no matching overload for 'size'")
        return len(args[0])
    if name in ("startsWith", "endsWith", "contains", "matches", "indexOf", "lastIndexOf", "split"):
        if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], str):
            if name in ("indexOf", "lastIndexOf") and len(args) == 2 and isinstance(args[0], list):
                idx = [i for i, x in enumerate(args[0]) if _eq(x, args[1])]
                return (idx[0] if name == "indexOf" else idx[-1]) if idx else -1
            raise CelError("no matching overload for '%s'" % name)
        s, t = args
        if name == "startsWith":
            return s.startswith(t)
        if name == "endsWith":
            return s.endswith(t)
        if name == "contains":
            return t in s
        if name == "indexOf":
            return s.find(t)
        if name == "lastIndexOf":
            return s.rfind(t)
        if name == "split":
            return s.split(t)
        try:
            return re.search(t, s) is not None
        except re.error as e:
            raise CelError("invalid regular expression: %s" % e)
    if name in ("lowerAscii", "upperAscii", "trim"):
        if len(args) != 1 or not isinstance(args[0], str):
            raise CelError("no matching overload for '%s'" % name)
        return {"lowerAscii": args[0].lower, "upperAscii": args[0].upper, "trim": args[0].strip}[name]()
    if name == "join":
        sep = args[1] if len(args) > 1 else ""
        if not isinstance(args[0], list) or not all(isinstance(x, str) for x in args[0]):
            raise CelError("no matching overload for 'join'")
        return sep.join(args[0])
    if name in ("isSorted", "sum", "min", "max"):
        lst = args[0]
        if not isinstance(lst, list):
            raise CelError("no matching overload for '%s'" % name)
        if name == "isSorted":
            return all(_binop("<=", a, b) for a, b in zip(lst, lst[1:]))
        if name == "sum":
            return sum(lst) if lst else 0
        if not lst:
            raise CelError("%s called on empty list" % name)
        return min(lst) if name == "min" else max(lst)
    if len(args) != 1:
        raise CelError("no matching overload for '%s'" % name)
    v = args[0]
    try:
        if name in ("int", "uint"):
            if isinstance(v, str):
                return int(v)
            return int(v)
        if name == "double":
            return float(v)
        if name == "string":
            if isinstance(v, bool):
                return "true" if v else "false"
            return str(v)
        if name == "bool":
            if isinstance(v, str):
                if v in ("true", "True", "TRUE", "t", "1"):
                    return True
                if v in ("false", "False", "FALSE", "f", "0"):
                    return False
                raise ValueError(v)
            return bool(v)
        if name == "type":
            return _typename(v)
    except (ValueError, TypeError) as e:
        raise CelError("%s conversion error: %s" % (name, e))
    raise CelError("no matching overload for '%s'" % name)
