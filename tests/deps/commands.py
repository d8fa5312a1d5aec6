#!/usr/bin/env python3
"""tests/deps/commands.py: which external commands do the project's scripts
call, and does the set-up install each of them?

Scans the shell scripts under tests/, bench/ and .ci/ (and the shell in the
Makefile's recipes, for the targets that `make test`, `make demo`, `make
bench` and `make fresh-check` reach), plus the subprocess calls of the Python
files under tests/ and bench/. A small shell tokenizer takes the first word of
each simple command: after `|`, `&&`, `||`, `;`, `&`, newlines, `$(`, `<(`,
backquotes, `then`/`do`/`else`/`!`/`{`, and through the programs that run
another one (`exec`, `timeout N`, `env VAR=.. -u X`, `xargs`, `nice`, `sudo`,
`setpriv .. --`, `/usr/bin/time -f ..`, `flock`, `chroot DIR`, the script
strings of `bash -c`/`sh -c`/`trap`) and through the scripts' own functions
that run their arguments (`t_run NAME WANT CMD...`: found by their `shift N`
and `"$@"`). It skips builtins and keywords, the scripts' functions, and
what it cannot tell: variables it cannot resolve to a literal (it does
resolve `PY=/usr/bin/python3`, `GPG=(gpg ...)`, `${X:-default}`, `for p in
a b`), heredoc bodies (except generated scripts that start with `#!`, and
Python fed to `python3 -`), and quoted strings that are not script strings.

Then, for each command: where it is on this machine (PATH, and /usr/bin,
/bin, /usr/sbin, /sbin, so a pyenv or /usr/local shadow does not hide
Debian's), which Debian package owns it (dpkg -S, following symlinks and
/etc/alternatives, both sides of the /usr merge), and whether that package is
 - installed by tests/setup-deps.sh (its --list, with their Depends and
   Pre-Depends: what apt must install with them),
 - Essential or Priority required (in every debootstrap minbase),
 - or git, make, ca-certificates (the stated bare-machine base) with theirs;
or whether the set-up fetches the tool itself (go, helm, kubectl).

  commands.py check ROOT   one line per command: "PASS<TAB>name" or
                           "FAIL<TAB>name<TAB>why" (tests/deps/check-commands.sh
                           records them), then "NOTE<TAB>text" lines
  commands.py list ROOT    the inventory: command, provider, where used
"""
import ast
import os
import re
import shutil
import subprocess
import sys

# ---------------------------------------------------------------------------
# What is not an external command, what runs another command.

KEYWORDS = {"if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until",
            "do", "done", "in", "function", "time", "{", "}", "!", "[[", "]]", "coproc"}
BUILTINS = {"alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen", "complete",
            "compopt", "continue", "declare", "dirs", "disown", "echo", "enable", "eval", "exec", "exit",
            "export", "false", "fc", "fg", "getopts", "hash", "help", "history", "jobs", "kill", "let",
            "local", "logout", "mapfile", "popd", "printf", "pushd", "pwd", "read", "readarray",
            "readonly", "return", "set", "shift", "shopt", "source", "suspend", "test", "times", "trap",
            "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait", ".", ":", "["}
HEAD_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}
DECLARERS = {"local", "export", "declare", "readonly", "typeset"}

# Programs that run the command given after their options:
# name -> (options taking a value, number of positional words before the command)
WRAPPERS = {
    "timeout": ({"-k", "--kill-after", "-s", "--signal"}, 1),
    "env": ({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}, 0),
    "nice": ({"-n", "--adjustment"}, 0),
    "nohup": (set(), 0),
    "setsid": (set(), 0),
    "xargs": ({"-n", "-L", "-P", "-s", "-I", "-d", "-a", "-E", "--max-args", "--max-procs",
               "--delimiter", "--arg-file"}, 0),
    "sudo": ({"-u", "-g", "-C", "-D", "-h", "-p", "-U", "-r", "-t"}, 0),
    "setpriv": ({"--reuid", "--regid", "--groups", "--inh-caps", "--ambient-caps", "--bounding-set",
                 "--securebits", "--pdeathsig", "--selinux-label", "--apparmor-profile"}, 0),
    "chroot": ({"--userspec", "--groups"}, 1),
    "stdbuf": ({"-i", "-o", "-e"}, 0),
    "ionice": ({"-c", "-n", "-p", "-P", "-u"}, 0),
    "time": ({"-f", "--format", "-o", "--output"}, 0),
    "valgrind": (set(), 0),
    "unshare": (set(), 0),
}
SHELLS = {"sh", "bash", "dash"}
PYTHONS = re.compile(r"^python3(\.\d+)?$")

ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[[^]]*\])?\+?=")

# ---------------------------------------------------------------------------
# Words: lists of segments ("lit", text) ("var", name, default-Word|None)
# ("sub",) ("arith",) ("array", [Word]). quoted: any part was quoted.


class Word:
    __slots__ = ("segs", "pos", "quoted")

    def __init__(self, pos):
        self.segs, self.pos, self.quoted = [], pos, False

    def add_lit(self, text):
        if self.segs and self.segs[-1][0] == "lit":
            self.segs[-1] = ("lit", self.segs[-1][1] + text)
        else:
            self.segs.append(("lit", text))

    def literal(self):
        """The text when the word has no expansion at all, else None."""
        if all(s[0] == "lit" for s in self.segs):
            return "".join(s[1] for s in self.segs)
        return None

    def lit_prefix(self):
        return self.segs[0][1] if self.segs and self.segs[0][0] == "lit" else ""

    def script_text(self):
        """The word's value as text to parse as a script (`bash -c WORD`):
        variables become ${NAME}, command substitutions a variable."""
        out = []
        for s in self.segs:
            if s[0] == "lit":
                out.append(s[1])
            elif s[0] == "var":
                out.append("${%s}" % s[1] if re.match(r"^\w+$", s[1]) else "${__unknown}")
            else:
                out.append("${__unknown}")
        return "".join(out)


def lit_word(text, pos=0):
    w = Word(pos)
    w.add_lit(text)
    return w


class Builder:
    """One simple command as parsed: its words, where it starts, heredocs."""
    __slots__ = ("words", "pos", "heredocs", "dbracket")

    def __init__(self, pos):
        self.words, self.pos, self.heredocs, self.dbracket = [], pos, [], False


# ---------------------------------------------------------------------------
# The tokenizer/parser. Produces Builders in the order they complete.

class ShellParser:
    def __init__(self, text, sink):
        self.s, self.n, self.sink = text, len(text), sink
        self.pending = []  # heredocs waiting for the next newline: (delim, strip, quoted, builder)

    # -- words -------------------------------------------------------------
    def skip_blanks(self, i):
        s = self.s
        while i < self.n:
            if s[i] in " \t":
                i += 1
            elif s.startswith("\\\n", i):
                i += 2
            else:
                break
        return i

    def match_paren(self, i, open_="(", close=")"):
        """i just after an opening paren: index after the matching one,
        skipping quotes (for $((...)) and ${...})."""
        depth, s = 1, self.s
        while i < self.n:
            c = s[i]
            if c == "\\":
                i += 2
                continue
            if c == "'":
                j = s.find("'", i + 1)
                i = self.n if j < 0 else j + 1
                continue
            if c == '"':
                i = self.skip_dq(i + 1)
                continue
            if c == open_:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return self.n

    def skip_dq(self, i):
        s = self.s
        while i < self.n and s[i] != '"':
            i += 2 if s[i] == "\\" else 1
        return i + 1

    def dollar(self, i, w):
        """s[i] == '$': one expansion into w; returns the next index."""
        s = self.s
        if s.startswith("$((", i):
            w.segs.append(("arith",))
            j = self.match_paren(i + 3)
            return j + 1 if j < self.n and s[j] == ")" else j
        if s.startswith("$(", i):
            j = self.nested(i + 2)
            w.segs.append(("sub",))
            return j
        if s.startswith("${", i):
            j = self.match_paren(i + 2, "{", "}")
            body = s[i + 2:j - 1]
            m = re.match(r"^([#!]?)([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])(\[[^]]*\])?(.*)$", body, re.S)
            if not m or m.group(1):
                w.segs.append(("var", "#", None))
                return j
            name, rest, default = m.group(2), m.group(4), None
            if m.group(3) and m.group(3) not in ("[@]", "[*]", "[0]"):
                name = "#"  # another element: cannot tell
            op = re.match(r"^(:?[-=])(.*)$", rest, re.S)
            if op:
                sub = ShellParser(op.group(2), self.sink)
                default = sub.word_from(0, in_dq=True)
            elif rest:
                name = "#" if not rest.startswith(":?") and not rest.startswith("?") else name
            w.segs.append(("var", name, default))
            return j
        m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])", s[i:])
        if m:
            w.segs.append(("var", m.group(1), None))
            return i + m.end()
        w.add_lit("$")
        return i + 1

    def nested(self, i, close=")"):
        """Parse a command list from i to its closing paren; returns after it."""
        return self.parse(i, close)

    def backquote(self, i, w):
        s, j, buf = self.s, i + 1, []
        while j < self.n and s[j] != "`":
            if s[j] == "\\" and j + 1 < self.n and s[j + 1] in "`\\$":
                buf.append(s[j + 1])
                j += 2
            else:
                buf.append(s[j])
                j += 1
        ShellParser("".join(buf), self.sink).parse(0, None, base=self.sink.base_of(i))
        w.segs.append(("sub",))
        return j + 1

    def word_from(self, i, in_dq=False):
        """The text from i as one word (for ${X:-default} bodies)."""
        w = Word(i)
        s = self.s
        while i < self.n:
            c = s[i]
            if c == "\\" and i + 1 < self.n:
                w.add_lit(s[i + 1])
                i += 2
            elif c == "$":
                i = self.dollar(i, w)
            elif c == '"':
                i += 1
            elif c == "'" and not in_dq:
                j = s.find("'", i + 1)
                j = self.n if j < 0 else j
                w.add_lit(s[i + 1:j])
                i = j + 1
            else:
                w.add_lit(c)
                i += 1
        return w

    def lex_word(self, i):
        """A word from i (not at an operator). Returns (Word, next)."""
        s, w = self.s, Word(i)
        while i < self.n:
            c = s[i]
            if c in " \t\n;&|()<>":
                # name=( array )
                if c == "(" and not w.quoted and w.segs and len(w.segs) == 1 and w.segs[0][0] == "lit" \
                        and ASSIGN.match(w.segs[0][1]) and w.segs[0][1].endswith("="):
                    i = self.array(i + 1, w)
                    continue
                break
            if c == "\\":
                if s.startswith("\\\n", i):
                    i += 2
                else:
                    w.add_lit(s[i + 1:i + 2])
                    w.quoted = True
                    i += 2
            elif c == "'":
                j = s.find("'", i + 1)
                j = self.n if j < 0 else j
                w.add_lit(s[i + 1:j])
                w.quoted = True
                i = j + 1
            elif s.startswith("$'", i):
                j = i + 2
                while j < self.n and s[j] != "'":
                    j += 2 if s[j] == "\\" else 1
                w.add_lit(s[i + 2:j].encode().decode("unicode_escape", "replace"))
                w.quoted = True
                i = j + 1
            elif c == '"':
                w.quoted = True
                i = self.dq(i + 1, w)
            elif c == "$":
                i = self.dollar(i, w)
            elif c == "`":
                i = self.backquote(i, w)
            else:
                w.add_lit(c)
                i += 1
        return w, i

    def dq(self, i, w):
        s = self.s
        while i < self.n and s[i] != '"':
            c = s[i]
            if c == "\\" and i + 1 < self.n:
                nxt = s[i + 1]
                if nxt == "\n":
                    pass
                elif nxt in '$`"\\':
                    w.add_lit(nxt)
                else:
                    w.add_lit("\\" + nxt)
                i += 2
            elif c == "$":
                i = self.dollar(i, w)
            elif c == "`":
                i = self.backquote(i, w)
            else:
                w.add_lit(c)
                i += 1
        return i + 1

    def array(self, i, w):
        elems = []
        while True:
            i = self.skip_blanks(i)
            while i < self.n and self.s[i] == "\n":
                i = self.skip_blanks(i + 1)
            if i >= self.n or self.s[i] == ")":
                break
            if self.s[i] == "#":
                while i < self.n and self.s[i] != "\n":
                    i += 1
                continue
            e, i = self.lex_word(i)
            elems.append(e)
        w.segs.append(("array", elems))
        return i + 1

    # -- heredocs ----------------------------------------------------------
    def read_heredocs(self, i):
        """i just after a newline: consume the pending heredoc bodies."""
        for delim, strip, quoted, b in self.pending:
            start, lines = i, []
            while i < self.n:
                j = self.s.find("\n", i)
                j = self.n if j < 0 else j
                line = self.s[i:j]
                i = j + 1
                if (line.lstrip("\t") if strip else line) == delim:
                    break
                lines.append(line.lstrip("\t") if strip else line)
            body = "\n".join(lines) + "\n"
            b.heredocs.append((body, quoted, self.sink.where(self, start)[1]))
            if not quoted and not body.startswith("#!"):
                # an unquoted body runs its $(...) and `...` when read
                self.heredoc_subs(start, i)
        self.pending = []
        return i

    def heredoc_subs(self, i, end):
        s, w = self.s, Word(i)
        while i < end:
            if s[i] == "\\":
                i += 2
            elif s.startswith("$(", i) and not s.startswith("$((", i):
                i = self.nested(i + 2)
            elif s[i] == "`":
                i = self.backquote(i, w)
            else:
                i += 1

    # -- the command list --------------------------------------------------
    def parse(self, i, close, base=None):
        """Parse commands from i until the unmatched `close` (or the end);
        returns the index after it."""
        if base is not None:
            self.sink.push_base(base, self)
        s, depth = self.s, 0
        cur = Builder(i)
        cases = []  # case ... esac nesting: "pattern" or "body"

        def finish():
            nonlocal cur
            if cur.words:
                self.sink.builder(cur, self)
            cur = Builder(i)

        while True:
            i = self.skip_blanks(i)
            if i >= self.n:
                finish()
                break
            c = s[i]
            if c == "#" and (i == 0 or s[i - 1] in " \t\n;&|()"):
                while i < self.n and s[i] != "\n":
                    i += 1
                continue
            if cases and cases[-1] == "pattern" and c in "\n(|":
                i += 1
                if c == "\n" and self.pending:
                    i = self.read_heredocs(i)
                continue
            if cases and cases[-1] == "pattern" and c == ")":
                i += 1
                cases[-1] = "body"
                continue
            if c == "\n":
                i += 1
                if not cur.dbracket:
                    finish()
                if self.pending:
                    i = self.read_heredocs(i)
                continue
            if s.startswith("((", i):  # arithmetic command, or for ((...))
                j = self.match_paren(i + 2)
                i = j + 1 if j < self.n and s[j] == ")" else j
                if cur.words:  # for ((...)), while ((...))
                    w = Word(i)
                    w.segs.append(("arith",))
                    cur.words.append(w)
                continue
            m = re.match(r"(\d*|&)(>>|>\||>&|&>>|&>|>|<<<|<<-|<<|<>|<&|<)(?!\()", s[i:])
            if m:
                if cur.dbracket and m.group(2) in ("<", ">"):
                    i += m.end()
                    continue
                op = m.group(2)
                i = self.skip_blanks(i + m.end())
                if i < self.n and s[i] not in "\n;&|()":
                    target, i = self.lex_word(i)
                    if op in ("<<", "<<-"):
                        delim = target.literal()
                        if delim is None:
                            delim = "".join(x[1] for x in target.segs if x[0] == "lit")
                        self.pending.append((delim, op == "<<-", target.quoted, cur))
                continue
            if c in "<>" and s.startswith("(", i + 1):  # process substitution
                w = Word(i)
                i = self.nested(i + 2)
                w.segs.append(("sub",))
                cur.words.append(w)
                continue
            if c in ";&|":
                op = re.match(r";;&|;;|;&|;|&&|\|\||\|&|\||&", s[i:]).group(0)
                i += len(op)
                if cur.dbracket and op in ("&&", "||"):
                    continue
                finish()
                if op in (";;", ";&", ";;&") and cases:
                    cases[-1] = "pattern"
                continue
            if c == "(":
                i += 1
                if cur.dbracket:
                    continue
                if len(cur.words) == 1 and self.skip_blanks(i) < self.n and s[self.skip_blanks(i)] == ")":
                    # name() : a function definition
                    i = self.skip_blanks(i) + 1
                    self.sink.function(cur.words[0], self)
                    cur = Builder(i)
                    continue
                finish()
                depth += 1
                continue
            if c == ")":
                i += 1
                if cur.dbracket:
                    continue
                finish()
                if depth == 0 and close == ")":
                    break
                depth = max(0, depth - 1)
                continue
            w, i = self.lex_word(i)
            lit = w.literal()
            if cases and cases[-1] == "pattern":
                if lit == "esac":
                    cases.pop()
                continue  # a pattern
            if cases and lit == "esac" and not cur.words:
                cases.pop()
                continue
            if lit == "in" and len(cur.words) == 2 and cur.words[0].literal() == "case":
                cases.append("pattern")
                cur = Builder(i)
                continue
            if not cur.words:
                cur.pos = w.pos
            if w.literal() == "[[" and all(x.literal() in HEAD_KEYWORDS for x in cur.words):
                cur.dbracket = True
            if cur.dbracket and w.literal() == "]]":
                cur.dbracket = False
            cur.words.append(w)
        if base is not None:
            self.sink.pop_base()
        return i


# ---------------------------------------------------------------------------
# Collecting: commands with their context (file, line, function, shifts).

class Cmd:
    __slots__ = ("words", "file", "line", "func", "shifts", "heredocs")

    def __init__(self, words, file, line, func, shifts, heredocs):
        self.words, self.file, self.line, self.func, self.shifts, self.heredocs = \
            words, file, line, func, shifts, heredocs


class Collector:
    def __init__(self):
        self.cmds = []
        self.funcs = set()  # names of the scripts' functions
        self.defs = {}  # name -> [(file, serial)]: each definition
        self.vars = {}  # name -> [Word]
        self.py_uses = []  # (name, file, line)
        self._bases = []  # stack of (file, line of text start, parser)
        self._scopes = []  # stack of function name or None ({ } nesting)
        self._pending_func = None
        self._shifts = {}

    # where a parser's text sits
    def push_base(self, base, parser):
        self._bases.append((base[0], base[1], parser))

    def pop_base(self):
        self._bases.pop()

    def base_of(self, pos):
        f, line, p = self._bases[-1]
        return (f, line + p.s.count("\n", 0, pos))

    def where(self, parser, pos):
        for f, line, p in reversed(self._bases):
            if p is parser:
                return f, line + p.s.count("\n", 0, pos)
        f, line, p = self._bases[-1]
        return f, line

    def current_func(self):
        for f in reversed(self._scopes):
            if f is not None:
                return f
        return None

    def parse_shell(self, text, file, line):
        p = ShellParser(text, self)
        p.parse(0, None, base=(file, line))

    def define(self, name, file):
        self.funcs.add(name)
        d = (file, name, len(self.defs.get(name, [])))
        self.defs.setdefault(name, []).append(d)
        self._pending_func = d

    def function(self, word, parser):
        name = word.literal()
        if name:
            self.define(name, self.where(parser, word.pos)[0])

    def assign(self, name, value, file):
        self.vars.setdefault(name, []).append((file, value))

    def builder(self, b, parser):
        words = list(b.words)
        file, line = self.where(parser, b.pos)
        # keywords and braces at the head
        while words:
            lit = words[0].literal()
            if lit == "function" and len(words) >= 2 and words[1].literal():
                self.define(words[1].literal(), file)
                words = words[2:]
                continue
            if lit == "{":
                self._scopes.append(self._pending_func)
                self._pending_func = None
                words = words[1:]
                continue
            if lit == "}":
                if self._scopes:
                    self._scopes.pop()
                words = words[1:]
                continue
            if lit in ("fi", "done", "esac"):
                words = words[1:]
                continue
            if lit in ("if", "then", "else", "elif", "do", "while", "until", "!"):
                words = words[1:]
                continue
            break
        if not words:
            return
        head = words[0].literal()
        if head in ("for", "select"):
            if len(words) >= 3 and words[1].literal() and words[2].literal() == "in":
                for v in words[3:]:
                    self.assign(words[1].literal(), v, file)
            return
        if head in ("case", "[[", "]]"):
            return
        func = self.current_func()
        if head == "shift" and func:
            n = words[1].literal() if len(words) > 1 else "1"
            self._shifts[func] = self._shifts.get(func, 0) + (int(n) if n and n.isdigit() else 1)
        # assignments: leading NAME=..., and local/export/declare NAME=...
        k = 0
        while k < len(words) and self._assignment(words[k], file):
            k += 1
        if k < len(words) and words[k].literal() in DECLARERS:
            for w in words[k + 1:]:
                self._assignment(w, file)
        self.cmds.append(Cmd(words, file, line, func, self._shifts.get(func, 0), b.heredocs))

    def _assignment(self, w, file):
        if not w.segs or w.segs[0][0] != "lit":
            return False
        m = ASSIGN.match(w.segs[0][1])
        if not m:
            return False
        v = Word(w.pos)
        v.quoted = w.quoted
        rest = w.segs[0][1][m.end():]
        if rest:
            v.add_lit(rest)
        v.segs.extend(w.segs[1:])
        self.assign(m.group(1), v, file)
        return True


# ---------------------------------------------------------------------------
# Resolving: from a command's words to the programs it runs.

class Resolver:
    def __init__(self, col):
        self.col = col
        self.wrappers = {}  # function -> number of its own arguments before the command
        self.uses = {}  # command -> [(file, line, via)]
        self.scripts = []  # (text, file, line) to parse later (bash -c, trap, heredoc #!)
        self.python = []  # (code, file, line)

    # The values a word can take: a list of alternatives, each a list of
    # words (str, or None where unknown). split: the use site is unquoted.
    def word_values(self, w, seen, split=False, file=None):
        alts = [[""]]
        for seg in w.segs:
            if seg[0] == "lit":
                vals = [[seg[1]]]
            elif seg[0] == "var":
                vals = self.var_values(seg[1], seg[2], seen, file)
                if not vals:
                    return []
            elif seg[0] == "array":
                elems = []
                for e in seg[1]:
                    ev = self.word_values(e, seen, file=file)
                    elems.append(ev[0][0] if len(ev) == 1 and len(ev[0]) == 1 else None)
                vals = [elems]
            else:
                vals = [[None]]
            new = []
            for a in alts:
                for v in vals:
                    if not v:
                        new.append(a)
                    elif not a:
                        new.append(list(v))
                    else:
                        last = None if a[-1] is None or v[0] is None else a[-1] + v[0]
                        new.append(a[:-1] + [last] + list(v[1:]))
            alts = new[:16]
        out = []
        for a in alts:
            if split and not w.quoted:
                a = [x for y in a for x in ([None] if y is None else y.split())]
            else:
                a = [y for y in a if y != ""]
            if a not in out:
                out.append(a)
        return out

    def var_values(self, name, default, seen, file):
        """A variable's values: its assignments in the same file when there
        are any (a name means one thing in one script), else anywhere (the
        libraries the scripts source)."""
        if not re.match(r"^[A-Za-z_]\w*$", name):
            return []
        vals = []
        if name not in seen:
            assigned = self.col.vars.get(name, [])
            mine = [v for f, v in assigned if f == file]
            for v in mine or [v for f, v in assigned]:
                vals.extend(self.word_values(v, seen | {name}, file=file))
        if default is not None:
            vals.extend(self.word_values(default, seen | {name}, file=file))
        out = []
        for v in vals:
            if v not in out:
                out.append(v)
        return out

    def record(self, name, cmd, via=""):
        if not re.match(r"^[A-Za-z0-9_/][A-Za-z0-9_.+/-]*$", name or ""):
            return  # not a program name (a value split from a variable)
        self.uses.setdefault(name, []).append((cmd.file, cmd.line, via))

    def skip_options(self, prog, words, i):
        takes, positionals = WRAPPERS[prog]
        while i < len(words):
            if prog == "env" and ASSIGN.match(words[i].lit_prefix()):
                i += 1
                continue
            lit = words[i].literal()
            if lit is None:
                break
            if lit == "--":
                i += 1
                break
            if lit.startswith("-") and len(lit) > 1:
                key = lit.split("=", 1)[0]
                i += 1
                if key in takes and "=" not in lit:
                    i += 1
                continue
            break
        return i + positionals

    def wrapper_arity(self, name, file):
        """How many of its own arguments the function `name` (as seen from
        file) takes before the command it runs; None: it runs none. The
        file's own definition wins; else one in the files it sources."""
        defs = self.col.defs.get(name, [])
        mine = [d for d in defs if d[0] == file] or defs
        for d in mine:
            if d in self.wrappers:
                return self.wrappers[d]
        return None

    def resolve(self, cmd, words=None, i=0, external=False, via="", depth=0, funcs_ok=True):
        """Walk cmd's words from i; record programs; returns True when the
        command word is "$@" (the function runs its arguments)."""
        if depth > 8:
            return False
        words = cmd.words if words is None else words
        while i < len(words):
            w = words[i]
            lit = w.literal()
            if not external and ASSIGN.match(w.lit_prefix()):
                i += 1
                continue
            if lit is None:
                seg = w.segs[0] if w.segs else None
                if seg and seg[0] == "var" and seg[1] in ("@", "*"):
                    return True
                if seg and seg[0] == "var":
                    vals = self.word_values(w, frozenset(), split=True, file=cmd.file)
                    for v in vals:
                        if None in v[:1]:
                            continue  # unknown: cannot tell
                        name = "$" + seg[1]
                        if self.resolve(cmd, [lit_word(x) if x is not None else Word(0) for x in v] + words[i + 1:],
                                        0, external, via or name, depth + 1, funcs_ok):
                            return True
                    return False
                return False
            if not external:
                if lit in ("!", "time"):
                    i += 2 if lit == "time" and i + 1 < len(words) and words[i + 1].literal() == "-p" else 1
                    continue
                if funcs_ok and lit in self.col.funcs:
                    n = self.wrapper_arity(lit, cmd.file)
                    if n is not None:
                        i += 1 + n
                        continue
                    return False
                if lit in BUILTINS or lit in KEYWORDS:
                    if lit == "exec":
                        i += 1
                        while i < len(words) and (words[i].literal() or "").startswith("-"):
                            i += 2 if words[i].literal() == "-a" else 1
                        external = True
                        continue
                    if lit == "command":
                        nxt = words[i + 1].literal() if i + 1 < len(words) else None
                        if nxt in ("-v", "-V"):
                            return False
                        i += 2 if nxt == "-p" else 1
                        funcs_ok = False
                        continue
                    if lit == "trap" and i + 1 < len(words):
                        a = words[i + 1]
                        if not (a.literal() or "").startswith("-"):
                            self.scripts.append((a.script_text(), cmd.file, cmd.line))
                    if lit in DECLARERS:
                        return False
                    return False
            base = os.path.basename(lit)
            if "/" in lit and not lit.startswith("/"):
                return False  # the project's own script
            self.record(lit, cmd, via)
            if base == "flock":
                i += 1
                while i < len(words) and (words[i].literal() or "").startswith("-"):
                    o = words[i].literal()
                    if o in ("-c", "--command") and i + 1 < len(words):
                        self.scripts.append((words[i + 1].script_text(), cmd.file, cmd.line))
                        return False
                    i += 2 if o in ("-w", "--timeout", "-E", "--conflict-exit-code") else 1
                i += 1  # the lock file or descriptor
                external = True
                continue
            if base in WRAPPERS:
                i = self.skip_options(base, words, i + 1)
                external = True
                funcs_ok = False
                continue
            if base in SHELLS:
                j = i + 1
                while j < len(words):
                    o = words[j].literal()
                    if o == "-c" and j + 1 < len(words):
                        self.scripts.append((words[j + 1].script_text(), cmd.file, cmd.line))
                        break
                    if o is None or not o.startswith("-"):
                        break
                    j += 2 if o == "-o" else 1
                return False
            if PYTHONS.match(base):
                rest = [x.literal() for x in words[i + 1:]]
                if "-c" in rest:
                    k = rest.index("-c")
                    if k + 1 < len(rest):
                        code = words[i + 1 + k + 1]
                        self.python.append((code.script_text(), cmd.file, cmd.line))
                if "-" in rest:
                    for body, _quoted, start in cmd.heredocs:
                        self.python.append((body, cmd.file, start))
                return False
            return False
        return False

    def find_wrappers(self):
        """Functions whose command word is "$@" run their arguments (after
        the `shift N` before it). To a fixpoint: wrappers may use wrappers."""
        for _ in range(5):
            before = dict(self.wrappers)
            saved = (self.uses, self.scripts, self.python)
            self.uses, self.scripts, self.python = {}, [], []
            for c in self.col.cmds:
                if c.func and self.resolve(c):
                    self.wrappers[c.func] = c.shifts
            self.uses, self.scripts, self.python = saved
            if self.wrappers == before:
                break

    def heredoc_scripts(self):
        for c in self.col.cmds:
            for body, quoted, _start in c.heredocs:
                if body.startswith("#!") and re.match(r"#!\s*\S*\b(ba)?sh\b|#!\s*/usr/bin/env\s+(ba)?sh\b", body):
                    text = body if quoted else re.sub(r"\\([$`\\])", r"\1", body)
                    self.scripts.append((text.split("\n", 1)[1] if "\n" in text else "", c.file, _start + 1))


# ---------------------------------------------------------------------------
# Python: subprocess calls with a literal program.

PY_CALLS = {"run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput"}


def python_programs(code, file, line0):
    """(program, line, shell-script-or-None) for each subprocess/os call
    whose program is a literal."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    lists, from_sub = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "subprocess":
            from_sub.update(a.asname or a.name for a in node.names)
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            first = list_head(node.value, {})
            if first:
                lists[node.targets[0].id] = first
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
        if not ((owner == "subprocess" and name in PY_CALLS) or (not owner and name in from_sub) or
                (owner == "os" and (name == "system" or name.startswith("exec") or name.startswith("spawn")
                                    or name == "popen"))):
            continue
        if not node.args:
            continue
        a = node.args[0]
        if owner == "os" and name.startswith(("execl", "spawnl")) and len(node.args) >= 1:
            a = node.args[1] if name.startswith("spawn") and len(node.args) > 1 else node.args[0]
        shell = any(k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value for k in node.keywords)
        ln = line0 + node.lineno - 1
        if isinstance(a, ast.Constant) and isinstance(a.value, str):
            if shell or name in ("system", "popen", "getoutput", "getstatusoutput"):
                out.append((None, ln, a.value))
            else:
                out.append((a.value, ln, None))
            continue
        head = list_head(a, lists)
        if head:
            out.append((head, ln, None))
    return out


def list_head(node, lists):
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        e = node.elts[0]
        if isinstance(e, ast.Constant) and isinstance(e.value, str):
            return e.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return list_head(node.left, lists)
    if isinstance(node, ast.Name):
        return lists.get(node.id)
    return None


# ---------------------------------------------------------------------------
# The Makefile: recipes of the targets test/demo/bench/fresh-check reach.

MAKE_ROOTS = ("test", "demo", "bench", "fresh-check", "all", "deps")


def makefile_scripts(path):
    """(shell text, line) of the recipes that matter, and the phony targets
    left out."""
    lines = open(path, encoding="utf-8").read().split("\n")
    mvars, rules, phony, others = {}, [], set(), []
    i = 0
    cur = None
    while i < len(lines):
        ln, text = i + 1, lines[i]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1] + " " + lines[i].lstrip("\t ")
        i += 1
        if text.startswith("\t") and cur is not None:
            cur[2].append((text[1:], ln))
            continue
        stripped = text.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        others.append((stripped, ln))
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(:=|\?=|\+=|=|::=)\s*(.*)$", stripped)
        if m:
            mvars.setdefault(m.group(1), []).append((m.group(3), ln))
            cur = None
            continue
        m = re.match(r"^([^:=]+?)\s*:(?!=)\s*(.*)$", stripped)
        if m and not stripped.startswith(("ifeq", "ifneq", "else", "endif", "-include", "include")):
            targets, prereqs = m.group(1).split(), m.group(2).split()
            if targets == [".PHONY"]:
                phony.update(prereqs)
                cur = None
                continue
            cur = (targets, prereqs, [])
            rules.append(cur)
            continue
        cur = None
    # reachability of phony targets from the roots
    reach, todo = set(), [r for r in MAKE_ROOTS]
    while todo:
        t = todo.pop()
        if t in reach:
            continue
        reach.add(t)
        for targets, prereqs, _ in rules:
            if t in targets:
                todo.extend(prereqs)
    out, skipped = [], []

    paren = r"\$\(((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)"

    def expand(s, ln):
        """Make's expansions: a variable with one literal one-word value
        becomes it, $(shell CMD) is a script of its own, the rest a shell
        variable that cannot be resolved."""
        def one(m):
            body = m.group(1)
            if body.startswith("shell "):
                out.append((expand(body[6:], ln), ln))
                return "${MAKE_shell}"
            vals = mvars.get(body, [])
            if len(vals) == 1 and re.match(r"^[\w./+-]+$", vals[0][0]):
                return vals[0][0]
            inner = re.sub(paren, one, body)  # (for the $(shell) inside)
            return "${MAKE_%s}" % (re.sub(r"\W", "_", inner)[:20] or "x")
        s = s.replace("$$", "\0")
        s = re.sub(paren, one, s)
        s = re.sub(r"\$([@<^*?%])", "${MAKE_AUTO}", s)
        return s.replace("\0", "$")

    for text, ln in others:
        expand(text, ln)
    for targets, prereqs, recipe in rules:
        if all(t in phony for t in targets) and not any(t in reach for t in targets):
            if recipe:
                skipped.extend(targets)
            continue
        for text, ln in recipe:
            text = text.lstrip("@-+")
            out.append((expand(text, ln), ln))
    return out, skipped


# ---------------------------------------------------------------------------
# Which files.

SKIP_DIRS = {"node_modules", ".git", "build", "__pycache__"}


def project_files(root):
    shell, python = [], []
    for top in ("tests", "bench", ".ci"):
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS)
            for f in sorted(files):
                p = os.path.join(d, f)
                if f.endswith(".py"):
                    python.append(p)
                elif f.endswith(".sh"):
                    shell.append(p)
                elif "." not in f:
                    try:
                        with open(p, "rb") as fh:
                            first = fh.readline()
                    except OSError:
                        continue
                    if re.match(rb"#!.*\b(ba)?sh\b", first):
                        shell.append(p)
    return shell, python


def collect(root):
    col = Collector()
    res = Resolver(col)
    shell, python = project_files(root)
    rel = lambda p: os.path.relpath(p, root)  # noqa: E731
    for p in shell:
        col.parse_shell(open(p, encoding="utf-8", errors="replace").read(), rel(p), 1)
    notes = []
    mk = os.path.join(root, "Makefile")
    if os.path.exists(mk):
        scripts, skipped = makefile_scripts(mk)
        for text, ln in scripts:
            col.parse_shell(text, "Makefile", ln)
        if skipped:
            notes.append("not scanned: the recipes of make %s (no part of test, demo, bench)" % ", ".join(skipped))
    resolve_all(col, res, [(open(p, encoding="utf-8").read(), rel(p), 1) for p in python])
    return res, notes


def resolve_all(col, res, pys):
    res.find_wrappers()
    res.heredoc_scripts()
    done = 0
    # resolving may find script strings (bash -c, trap, generated scripts):
    # parse them and resolve what they add, until nothing new comes.
    for _ in range(6):
        for c in col.cmds[done:]:
            res.resolve(c)
        done = len(col.cmds)
        scripts, res.scripts = res.scripts, []
        if not scripts:
            break
        for text, f, ln in scripts:
            col.parse_shell(text, f, ln)
        res.find_wrappers()
    for code, f, ln in pys + res.python:
        for prog, line, script in python_programs(code, f, ln):
            if script is not None:
                before = len(col.cmds)
                col.parse_shell(script, f, line)
                for c in col.cmds[before:]:
                    res.resolve(c)
            else:
                res.uses.setdefault(prog, []).append((f, line, "subprocess"))


def selftest(root):
    """The tokenizer against tests/deps/tokenizer-sample.txt: every fooN on
    its line, no notcmd. Returns the problems."""
    path = os.path.join(root, "tests/deps/tokenizer-sample.txt")
    text = open(path, encoding="utf-8").read()
    col = Collector()
    res = Resolver(col)
    col.parse_shell(text, "sample", 1)
    resolve_all(col, res, [])
    want = {}  # fooN -> its line: where it first appears, or "# uses fooN"
    for n, line in enumerate(text.split("\n"), 1):
        m = re.search(r"# uses (foo\d+)$", line)
        if m:
            want[m.group(1)] = n
        elif not line.startswith("#"):
            for m in re.finditer(r"\bfoo\d+\b", line):
                want.setdefault(m.group(0), n)
    got = {}
    for k, v in res.uses.items():
        got.setdefault(os.path.basename(k), min(u[1] for u in v))
    problems = ["%s (line %d) not found" % (k, n) for k, n in want.items() if k not in got]
    problems += ["%s found on line %d, not %d" % (k, got[k], n) for k, n in want.items() if k in got and got[k] != n]
    problems += ["%s taken for a command" % k for k in got if k.startswith("notcmd")]
    return problems


# ---------------------------------------------------------------------------
# Packages.

def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **kw)


def dep_names(field):
    """Single-choice dependencies (no `a | b`: apt may pick either)."""
    out = []
    for part in field.split(","):
        part = part.strip()
        if not part or "|" in part:
            continue
        name = re.split(r"[\s(\[:]", part, 1)[0]
        out.append(name)
    return out


class Packages:
    def __init__(self):
        self.info = {}  # name -> dict(installed, essential, priority, deps)
        fmt = "${Package}\t${db:Status-Abbrev}\t${Essential}\t${Priority}\t${Pre-Depends}\t${Depends}\n"
        for line in run(["dpkg-query", "-W", "-f", fmt]).stdout.splitlines():
            p = line.split("\t")
            if len(p) < 6:
                continue
            if not p[1].startswith("ii"):
                continue
            self.info[p[0]] = {"essential": p[2] == "yes", "priority": p[3],
                               "deps": dep_names(p[4]) + dep_names(p[5])}

    def fetch(self, names):
        """Depends of packages not installed, from apt's lists."""
        names = [n for n in names if n not in self.info]
        if not names:
            return
        out = run(["apt-cache", "show", "--no-all-versions"] + names).stdout
        for stanza in out.split("\n\n"):
            f = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(" "):
                    k, v = line.split(":", 1)
                    f[k] = v.strip()
            if "Package" in f and f["Package"] not in self.info:
                self.info[f["Package"]] = {"essential": f.get("Essential") == "yes",
                                           "priority": f.get("Priority", ""),
                                           "deps": dep_names(f.get("Pre-Depends", "")) + dep_names(f.get("Depends", "")),
                                           "not_installed": True}
        for n in names:
            self.info.setdefault(n, {"essential": False, "priority": "", "deps": [], "unknown": True})

    def closure(self, roots):
        """root -> {package: the root that brings it}"""
        seen, todo = {}, [(r, r) for r in roots]
        while todo:
            self.fetch([p for p, _ in todo])
            nxt = []
            for p, via in todo:
                if p in seen:
                    continue
                seen[p] = via
                nxt.extend((d, via) for d in self.info.get(p, {}).get("deps", []) if d not in seen)
            todo = nxt
        return seen

    def minbase(self, name):
        i = self.info.get(name)
        return bool(i) and (i["essential"] or i["priority"] == "required")


def usrmerge(path):
    for a, b in (("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/"), ("/usr/lib/", "/lib/")):
        if path.startswith(a):
            return [path, b + path[len(a):]]
        if path.startswith(b):
            return [path, a + path[len(b):]]
    return [path]


def candidate_paths(cmd):
    """Paths that could be the command, on this machine."""
    if "/" in cmd:
        return [cmd] if os.path.isabs(cmd) and os.path.exists(cmd) else []
    out = []
    w = shutil.which(cmd)
    if w:
        out.append(w)
    for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        p = os.path.join(d, cmd)
        if os.path.exists(p) and os.access(p, os.X_OK):
            out.append(p)
    return list(dict.fromkeys(out))


def link_chain(path):
    """The path, each symlink it goes through, its real path; for
    /etc/alternatives links every registered alternative too."""
    out, p = [], path
    for _ in range(10):
        out.extend(usrmerge(p))
        if not os.path.islink(p):
            break
        t = os.readlink(p)
        t = t if os.path.isabs(t) else os.path.normpath(os.path.join(os.path.dirname(p), t))
        if t.startswith("/etc/alternatives/"):
            q = run(["update-alternatives", "--list", os.path.basename(t)]).stdout.split()
            for a in q:
                out.extend(usrmerge(a))
        p = t
    r = os.path.realpath(path)
    out.extend(usrmerge(r))
    return list(dict.fromkeys(out))


def owners(paths):
    """path -> [packages], in one dpkg -S."""
    if not paths:
        return {}
    res = {}
    out = run(["dpkg", "-S"] + list(paths)).stdout
    for line in out.splitlines():
        if line.startswith("diversion "):
            continue
        m = re.match(r"^(.+?): (/.*)$", line)
        if m:
            res.setdefault(m.group(2), []).extend(x.strip().split(":")[0] for x in m.group(1).split(","))
    return res


# Tools the set-up fetches itself (not Debian packages): command -> the script.
FETCHED = {"go": "tests/setup-go.sh", "helm": "tests/setup-helm.sh", "kubectl": "tests/cluster/kubectl.sh"}
BASE = ["git", "make", "ca-certificates"]

# True false positives only, each with why.
ALLOW = {
    # tests/setup-deps.sh runs apt-get through sudo only when it is not root
    # and `command -v sudo` finds one; as root (CI, the bare machine) it is
    # never called.
    "sudo": "used by tests/setup-deps.sh only when not root and sudo exists",
}
# Commands allowed in one script only: CI's e2e-kind job runs
# tests/kind/run.sh on a runner that has Docker and installs kind;
# `make test` never runs it.
ALLOW_ONLY_IN = {
    "docker": ("tests/kind/run.sh", "the CI runner's, for tests/kind/run.sh only (no part of make test)"),
    "kind": ("tests/kind/run.sh", "installed by CI's e2e-kind job, for tests/kind/run.sh only (no part of make test)"),
    # tests/images/run.sh runs the images' own binaries inside their mounted
    # roots (chroot DIR /usr/local/bin/...): paths in the image, not the host.
    "/usr/local/bin/lifeboat": ("tests/images/run.sh", "the job image's binary, run in its root (chroot)"),
    "/usr/local/bin/lifeboat-operator": ("tests/images/run.sh", "the operator image's binary, run in its root (chroot)"),
}


def file_text(root, rel, _cache={}):
    if rel not in _cache:
        try:
            _cache[rel] = open(os.path.join(root, rel), encoding="utf-8", errors="replace").read()
        except OSError:
            _cache[rel] = ""
    return _cache[rel]


def setup_list(root):
    p = subprocess.run([os.path.join(root, "tests/setup-deps.sh"), "--list"], stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("commands.py: tests/setup-deps.sh --list failed")
    return p.stdout.split()


def check(root, listing=False):
    res, notes = collect(root)
    listed = setup_list(root)
    pk = Packages()
    from_setup = pk.closure(listed)
    from_base = pk.closure(BASE)
    ok_fetched = {c: s for c, s in FETCHED.items() if os.path.exists(os.path.join(root, s))}

    cands = {c: candidate_paths(c) for c in res.uses}
    chains = {c: [q for p in ps for q in link_chain(p)] for c, ps in cands.items()}
    own = owners(sorted({q for qs in chains.values() for q in qs}))

    rows = []
    for cmd in sorted(res.uses):
        uses = sorted(set(res.uses[cmd]), key=lambda u: (u[0], u[1]))
        firsts = []  # the first use in each of up to three files
        for f, ln, via in uses:
            if len(firsts) < 3 and f not in [x[0] for x in firsts]:
                firsts.append((f, ln, via))
        where = ", ".join("%s:%d" % (f, ln) + (" via %s" % via if via and via != "subprocess" else "")
                          for f, ln, via in firsts)
        more = " and %d more" % (len(uses) - len(firsts)) if len(uses) > len(firsts) else ""
        pkgs = list(dict.fromkeys(p for q in chains[cmd] for p in own.get(q, [])))
        verdict, why = None, ""
        base = os.path.basename(cmd)
        if base in ok_fetched and "/" not in cmd:
            # Fetched into the cache, not onto PATH: a script that runs it by
            # name must get it from the fetch script (or be that script).
            script = ok_fetched[base]
            blind = [u for u in uses if u[0] != script and os.path.basename(script) not in file_text(root, u[0])]
            if not blind:
                verdict, why = "ok", "fetched by %s" % script
            else:
                f, ln, _ = blind[0]
                why = ("'%s' (%s:%d) is fetched by %s into the cache, not onto PATH, and %s runs it from PATH "
                       "without calling %s (use the path it prints)" % (cmd, f, ln, script, f, script))
                verdict = "fail"
        for p in pkgs:
            if verdict:
                break
            if pk.minbase(p):
                verdict, why = "ok", "package %s (%s, in every minbase)" % (
                    p, "Essential" if pk.info[p]["essential"] else "Priority required")
            elif p in from_base:
                v = from_base[p]
                verdict, why = "ok", "package %s (the base: %s)" % (p, v)
            elif p in from_setup:
                v = from_setup[p]
                verdict, why = "ok", "package %s%s (tests/setup-deps.sh)" % (p, "" if v == p else ", with " + v)
        if verdict == "fail":
            verdict = None
        elif not verdict and cmd in ALLOW:
            verdict, why = "ok", "allowed: " + ALLOW[cmd]
        elif not verdict and cmd in ALLOW_ONLY_IN and all(u[0] == ALLOW_ONLY_IN[cmd][0] for u in uses):
            verdict, why = "ok", "allowed: " + ALLOW_ONLY_IN[cmd][1]
        if not verdict:
            if why:
                pass
            elif pkgs:
                why = "'%s' (%s%s) is provided by package %s, which tests/setup-deps.sh does not install" % (
                    cmd, where, more, " or ".join(pkgs))
                tool = re.split(r"[.\-_]", base, 1)[0]
                if tool in ok_fetched:
                    why += " (take %s from %s instead)" % (tool, ok_fetched[tool])
            elif cands[cmd]:
                why = "'%s' (%s%s) is %s here, which no Debian package provides; tests/setup-deps.sh does not install it" % (
                    cmd, where, more, cands[cmd][0])
            else:
                why = "'%s' (%s%s) is not on this machine, and no package tests/setup-deps.sh installs provides it" % (
                    cmd, where, more)
        rows.append((cmd, verdict == "ok", why, where + more))
    if listing:
        w = max(len(r[0]) for r in rows)
        for cmd, ok, why, where in rows:
            print("%-*s  %-4s  %s   [%s]" % (w, cmd, "ok" if ok else "MISS", why if ok else "-", where))
        for n in notes:
            print("note: " + n)
        return 0 if all(r[1] for r in rows) else 1
    problems = selftest(root)
    if problems:
        print("FAIL\ttokenizer self-test (tests/deps/tokenizer-sample.txt)\tcheck-commands: the tokenizer misreads: "
              + "; ".join(problems))
    else:
        print("PASS\ttokenizer self-test (tests/deps/tokenizer-sample.txt)")
    for cmd, ok, why, where in rows:
        if ok:
            print("PASS\tcommand %s: %s" % (cmd, why))
        else:
            print("FAIL\tcommand %s\tcheck-commands: %s" % (cmd, why))
    for n in notes:
        print("NOTE\t" + n)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "list"):
        sys.exit(__doc__.split("\n\n")[-1])
    sys.exit(check(os.path.abspath(sys.argv[2]), listing=sys.argv[1] == "list"))
