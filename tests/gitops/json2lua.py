#!/usr/bin/env python3
"""tests/gitops/json2lua.py FILE.json: prints `obj = <the object as a Lua
table constructor>`, for tests/gitops/health.lua (Lua 5.1 has no JSON).
Objects become tables with string keys, arrays tables indexed from 1, JSON
null is left out (nil, as Argo CD's gopher-lua conversion has it), numbers
stay numbers, strings are written with decimal escapes only (byte-exact)."""
import json
import sys


def lua_string(s):
    out = []
    for b in s.encode("utf-8"):
        if 32 <= b < 127 and b not in (34, 92):
            out.append(chr(b))
        else:
            out.append("\\%03d" % b)
    return '"' + "".join(out) + '"'


def lua(v):
    if v is None:
        return "nil"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return lua_string(v)
    if isinstance(v, list):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("[%s] = %s" % (lua_string(k), lua(x)) for k, x in v.items() if x is not None) + "}"
    raise TypeError("cannot convert %r" % (v,))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: json2lua.py FILE.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        obj = json.load(f)
    if not isinstance(obj, dict):
        sys.exit("json2lua.py: %s does not hold a JSON object" % sys.argv[1])
    sys.stdout.write("obj = " + lua(obj) + "\n")


if __name__ == "__main__":
    main()
