#!/usr/bin/env python3
"""tests/deps/troubleshooting.py ROOT: every reason the operator can put in a
status condition or an Event, and every error or warning its process logs,
is explained in the operator section of docs/troubleshooting.md.

What it reads (comments stripped):
- reasons: the reason argument of the CALLS below (the status builder's
  ctl_set_state(), ctl_set_condition(), ctl_finish(), ctl_push_event(),
  the restore's refusals and failures, events_emit()) in operator/**/*.c,
  and every
  assignment to a variable or field named reason; a literal counts as is, a
  macro (#define NAME "Value") is resolved, and the few pass-through
  expressions below are accepted because what they carry is collected too:
  the job's reasons (common/err.c's table, which reach the status through
  the job's result) and the phases (CTL_PHASE_*, used as event reasons).
  Any other expression is a failure: the checker cannot tell what it
  carries, so it says where and asks to be taught.
- log messages: the message of log_kv(LOG_LEVEL_ERROR|LOG_LEVEL_WARN, ...)
  and the text of fprintf(stderr, "...") up to its first conversion.
A reason counts as documented when it appears in backticks (`InvalidSpec`)
in the section that starts at the heading "## The operator"; a log message
when its text appears there.

And the job's restore messages (JOB_SCOPES: the restore, its schema check,
audit record and missing-role errors, the list/delete/audit verbs, the child
processes of job/pipeline/proc.c, the command line's refusals and pg_tool_version): every
message of err_set(), err_wrap(), log_warn() and log_error() there is
explained somewhere in docs/troubleshooting.md: each piece of its text
between conversions (%s, %d, ...) of 12 characters or more appears in the
page as it is (messages that are only conversions, "%s", pass others on).

Prints one line per check, "PASS<TAB>name" or "FAIL<TAB>name<TAB>why", and
sanity checks that fail when the extraction finds too little (a refactor
that renames the functions must not make this pass with nothing checked).
"""
import os
import re
import sys

CALLS = {  # function -> index of its reason argument
    "set_state": 3,
    "set_condition": 3,
    "ctl_set_state": 3,
    "ctl_set_condition": 3,
    "ctl_push_event": 2,
    "finish": 4,
    "ctl_finish": 4,
    "restore_refuse": 2,
    "restore_fail": 3,
    "events_emit": 3,
}
# Expressions whose values are collected elsewhere: where they come from.
PASS_THROUGH = {
    "reason": "a local set from literals here or from a job result (common/err.c)",
    "o.reason": "struct outcome: literals here or the job's result reason",
    "o->reason": "struct outcome: literals here or the job's result reason",
    "r.reason": "a job result's reason (common/err.c)",
    "vr.reason": "the verify result's reason (common/err.c)",
    "a->reason": "the apply step forwarding an action's reason",
    "last->reason": "a schedule's run's own Ready reason (a DatabaseBackup's, collected here too)",
    "phase": "a phase, CTL_PHASE_*",
}
SECTION = "## The operator"
# (file, function or None for the whole file) whose messages must be explained.
JOB_SCOPES = [
    ("job/cmd/restore.c", None),
    ("job/model/schema.c", None),
    ("job/model/audit.c", None),
    ("job/cmd/catalog.c", None),
    ("job/cmd/show.c", None),
    ("job/cmd/download.c", None),
    ("job/db/pg.c", "pg_missing_role_error"),
    ("job/pipeline/proc.c", None),
    ("job/cmd/main.c", "parse_args"),
    ("job/db/pg.c", "pg_tool_version"),
]
JOB_CALLS = ("err_set", "err_wrap", "log_warn", "log_error")
MIN_JOB_MESSAGES = 30
MIN_REASONS = 20  # the operator and job reasons today number over 30
MIN_CALLS = 15
MIN_LOGS = 10


def strip_comments(src):
    out, i, n = [], 0, len(src)
    while i < n:
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * src.count("\n", i, j))
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src[i] in "\"'":
            q, j = src[i], i + 1
            while j < n and src[j] != q:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i : j + 1])
            i = j + 1
        else:
            out.append(src[i])
            i += 1
    return "".join(out)


def split_args(src, start):
    """The top-level arguments of the call whose '(' is at start."""
    args, depth, cur, i = [], 0, [], start
    while i < len(src):
        c = src[i]
        if c in "\"'":
            q, j = c, i + 1
            while j < len(src) and src[j] != q:
                j += 2 if src[j] == "\\" else 1
            cur.append(src[i : j + 1])
            i = j + 1
            continue
        if c in "([{":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args
        elif c == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return args


def literal(expr):
    """The value of a C string literal (adjacent pieces joined), else None."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', expr)
    if not parts or re.sub(r'"(?:[^"\\]|\\.)*"', "", expr).strip():
        return None
    return "".join(parts).encode().decode("unicode_escape")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    results = []

    def check(name, ok, why=""):
        results.append(("PASS\t" + name) if ok else ("FAIL\t%s\t%s" % (name, why)))

    files = []
    for d, _, names in os.walk(os.path.join(root, "operator")):
        files += [os.path.join(d, f) for f in sorted(names) if f.endswith((".c", ".h"))]
    srcs = {f: strip_comments(open(f, encoding="utf-8").read()) for f in sorted(files)}

    macros = {}
    for src in srcs.values():
        for m in re.finditer(r'^\s*#\s*define\s+(\w+)\s+("(?:[^"\\]|\\.)*")\s*$', src, re.M):
            macros[m.group(1)] = literal(m.group(2))

    reasons = {}  # reason -> first place seen
    ncalls = 0
    for f, src in srcs.items():
        if not f.endswith(".c"):
            continue
        rel = os.path.relpath(f, root)
        for m in re.finditer(r"\b(%s)\s*\(" % "|".join(CALLS), src):
            line = src.count("\n", 0, m.start()) + 1
            before = src[max(0, m.start() - 40) : m.start()]
            args = split_args(src, m.end() - 1)
            # A definition or prototype, not a call: its arguments have types.
            if re.search(r"\b(static|void|int)\s*\**\s*$", before) or any(
                re.search(r"\b(struct|const|char|int)\b", a) for a in args
            ):
                continue
            idx = CALLS[m.group(1)]
            where = "%s:%d %s()" % (rel, line, m.group(1))
            if len(args) <= idx:
                check("reason argument readable at " + where, False, "the call has %d arguments" % len(args))
                continue
            ncalls += 1
            expr = args[idx]
            value = literal(expr)
            if value is None and expr in macros:
                value = macros[expr]
            if value is not None:
                reasons.setdefault(value, where)
            elif expr not in PASS_THROUGH:
                check(
                    "reason argument known at " + where,
                    False,
                    "cannot tell which reasons %r carries; make it a literal or a #define, "
                    "or teach tests/deps/troubleshooting.py where it comes from" % expr,
                )
        for m in re.finditer(r'(?:\b|->|\.)reason\s*=\s*("(?:[^"\\]|\\.)*"|\w+)\s*;', src):
            expr = m.group(1)
            value = literal(expr) if expr.startswith('"') else macros.get(expr)
            line = src.count("\n", 0, m.start()) + 1
            if value is not None:
                reasons.setdefault(value, "%s:%d reason =" % (rel, line))
    for name, value in macros.items():
        if name.startswith("CTL_PHASE_") or "REASON_" in name and not name.endswith("_MAX"):
            if value:
                reasons.setdefault(value, "operator: #define " + name)

    err_c = strip_comments(open(os.path.join(root, "common", "err.c"), encoding="utf-8").read())
    job_reasons = re.findall(r'\{\s*E_\w+\s*,\s*"(\w+)"\s*,\s*\d+\s*\}', err_c)
    job_reasons += re.findall(r'return\s+"(\w+)"\s*;', err_c)
    for r in job_reasons:
        reasons.setdefault(r, "common/err.c (the job's reasons reach the status)")

    logs = {}
    for f, src in srcs.items():
        rel = os.path.relpath(f, root)
        for m in re.finditer(r"\blog_kv\s*\(\s*LOG_LEVEL_(ERROR|WARN)\s*,", src):
            args = split_args(src, src.index("(", m.start()))
            msg = literal(args[1]) if len(args) > 1 else None
            line = src.count("\n", 0, m.start()) + 1
            if msg is None:
                check("log message readable at %s:%d" % (rel, line), False, "not a literal: %r" % args[1:2])
            else:
                logs.setdefault(msg, "%s:%d" % (rel, line))
        for m in re.finditer(r"\bfprintf\s*\(\s*stderr\s*,", src):
            args = split_args(src, src.index("(", m.start()))
            msg = literal(args[1]) if len(args) > 1 else None
            if msg:
                msg = msg.split("%")[0].strip()
                if len(msg) > len("lifeboat-operator: "):
                    logs.setdefault(msg, "%s:%d" % (rel, src.count("\n", 0, m.start()) + 1))

    check(
        "the extraction finds the reason-setting calls (at least %d)" % MIN_CALLS,
        ncalls >= MIN_CALLS,
        "found %d calls of %s in operator/: renamed? update tests/deps/troubleshooting.py" % (ncalls, ", ".join(CALLS)),
    )
    check(
        "the extraction finds the reasons (at least %d)" % MIN_REASONS,
        len(reasons) >= MIN_REASONS and "InvalidSpec" in reasons and "DatabaseError" in reasons,
        "found %d (%s)" % (len(reasons), ", ".join(sorted(reasons))),
    )
    check(
        "the extraction finds the error and warning log messages (at least %d)" % MIN_LOGS,
        len(logs) >= MIN_LOGS,
        "found %d" % len(logs),
    )

    doc_path = os.path.join(root, "docs", "troubleshooting.md")
    doc = open(doc_path, encoding="utf-8").read()
    start = doc.find("\n" + SECTION)
    if start < 0:
        check("docs/troubleshooting.md has the section %r" % SECTION, False, "no such heading")
        section = ""
    else:
        check("docs/troubleshooting.md has the section %r" % SECTION, True)
        end = doc.find("\n## ", start + 1)
        section = doc[start : end if end > 0 else len(doc)]
    for r in sorted(reasons):
        check(
            "reason %s is explained" % r,
            ("`%s`" % r) in section,
            "reason %s (%s) is missing from the operator section of docs/troubleshooting.md: "
            "say what it means, how to see it and what to do" % (r, reasons[r]),
        )
    for msg in sorted(logs):
        check(
            "log message %r is explained" % msg,
            msg in section,
            "the operator logs %r (%s) but the operator section of docs/troubleshooting.md "
            "does not explain it" % (msg, logs[msg]),
        )
    nmsg = 0
    for rel, func in JOB_SCOPES:
        src = strip_comments(open(os.path.join(root, rel), encoding="utf-8").read())
        if func:
            m = re.search(r"^\w[^;{]*\b%s\s*\([^;{]*\)\s*\{" % func, src, re.M)
            if not m:
                check("function %s found in %s" % (func, rel), False, "renamed? update JOB_SCOPES")
                continue
            end = src.find("\n}", m.end())
            body_start, body = m.start(), src[m.start() : end]
        else:
            body_start, body = 0, src
        for m in re.finditer(r"\b(%s)\s*\(" % "|".join(JOB_CALLS), body):
            args = split_args(body, m.end() - 1)
            if not args or re.search(r"\b(const|char|int)\b", args[0]):
                continue  # a prototype or definition
            fmt = args[1] if m.group(1) == "err_set" and len(args) > 1 else args[0]
            text = literal(fmt)
            line = src.count("\n", 0, body_start + m.start()) + 1
            where = "%s:%d %s()" % (rel, line, m.group(1))
            if text is None:
                check("message readable at " + where, False, "not a literal: %r" % fmt)
                continue
            pieces = [p.strip(" :;,.()") for p in re.split(r"%[-0-9.*]*(?:zu|llu|lld|ld|[sdux])", text)]
            pieces = [p for p in pieces if len(p) >= 12]
            if not pieces:
                continue
            nmsg += 1
            missing = [p for p in pieces if p not in doc]
            check(
                "job message %r is explained" % text[:60],
                not missing,
                "%s says %r but docs/troubleshooting.md lacks %r: quote the message and say "
                "what it means and what to do" % (where, text, missing[0] if missing else ""),
            )
    check(
        "the extraction finds the restore's messages (at least %d)" % MIN_JOB_MESSAGES,
        nmsg >= MIN_JOB_MESSAGES,
        "found %d in %s: renamed? update JOB_SCOPES" % (nmsg, ", ".join(f for f, _ in JOB_SCOPES)),
    )
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
