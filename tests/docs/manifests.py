#!/usr/bin/env python3
"""tests/docs/manifests.py ROOT OUTDIR: finds what tests/docs/manifests.sh
sends to the API server in docs/*.md, writes each piece to OUTDIR and prints
one line per piece (tab-separated) on stdout:

  manifest  ID  SOURCE  NDOCS  NAMESPACE  FILE
  secret    ID  SOURCE  -      NAMESPACE  FILE   (FILE: the command, one line)
  skip      -   SOURCE  -      -          WHY
  fail      -   SOURCE  -      -          WHY

- manifests: every ```yaml (or ```yml) fence whose YAML documents have a
  top-level apiVersion and kind, and whose apiVersion is lifeboat.dev/* or a
  group every cluster serves (core v1, apps, batch, rbac, policy,
  networking, coordination, admissionregistration, apiextensions,
  storage.k8s.io, scheduling). Documents of other groups (a ServiceMonitor,
  a PrometheusRule, an Argo CD Application, a kustomization.yaml) are left
  out: the test cluster has no CRDs for them; a fence holding only those is
  a "skip" line. A fence without apiVersion is a fragment (a spec excerpt)
  and is not checked. `<!-- docs-test: skip -->` on the line before a fence
  leaves it out on purpose (a reason may follow: `<!-- docs-test: skip:
  caBundle is a placeholder -->`). YAML that does not parse is a "fail".
  NAMESPACE is the one namespace the documents name (metadata.namespace),
  "-" when none does; several different ones are a "fail".
- secret commands: every `kubectl create secret ...` command (continuation
  lines joined) in ```sh, ```bash, ```shell and ```console fences, unless it
  already has --dry-run or a pipe. Files it reads (--from-file=[KEY=]PATH)
  are created in OUTDIR/files with placeholder text (a `secret tls`
  command's --cert and --key: a real self-signed pair, which kubectl
  checks), relative to which the command runs. NAMESPACE: its -n/--namespace, else "-".
"""
import os
import re
import shlex
import subprocess
import sys

import yaml

KNOWN_GROUPS = {
    "",  # core: apiVersion v1
    "apps",
    "batch",
    "rbac.authorization.k8s.io",
    "policy",
    "networking.k8s.io",
    "coordination.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "lifeboat.dev",
}
SKIP_MARK = "<!-- docs-test: skip -->"
FENCE = re.compile(r"^([ \t]*)```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^\1```[ \t]*$", re.S | re.M)


def group_of(api_version):
    return api_version.split("/")[0] if "/" in api_version else ""


def main():
    root, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, "files"), exist_ok=True)
    docs_dir = os.path.join(root, "docs")
    lines = []
    n = 0
    for name in sorted(os.listdir(docs_dir)):
        if not name.endswith(".md"):
            continue
        path = os.path.join(docs_dir, name)
        text = open(path, encoding="utf-8").read()
        for m in FENCE.finditer(text):
            indent, lang, body = m.group(1), m.group(2).lower(), m.group(3)
            line = text.count("\n", 0, m.start()) + 1
            source = "docs/%s:%d" % (name, line)
            before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
            if before.startswith(SKIP_MARK[:-4]):  # "<!-- docs-test: skip", any reason after it
                continue
            if indent:
                body = "\n".join(l[len(indent):] if l.startswith(indent) else l for l in body.split("\n"))
            if lang in ("yaml", "yml"):
                if not re.search(r"^apiVersion:", body, re.M):
                    continue  # a fragment
                try:
                    objs = [o for o in yaml.safe_load_all(body) if o is not None]
                except yaml.YAMLError as e:
                    lines.append(("fail", "-", source, "-", "-", "the YAML does not parse: %s" % str(e).replace("\n", " ")))
                    continue
                bad = [o for o in objs if not isinstance(o, dict) or "apiVersion" not in o or "kind" not in o]
                if bad:
                    lines.append(("fail", "-", source, "-", "-", "a document without apiVersion and kind in a manifest fence"))
                    continue
                known = [o for o in objs if group_of(str(o["apiVersion"])) in KNOWN_GROUPS]
                if not known:
                    kinds = ", ".join(sorted({"%s %s" % (o["apiVersion"], o["kind"]) for o in objs}))
                    lines.append(("skip", "-", source, "-", "-", "no API the test cluster serves: " + kinds))
                    continue
                namespaces = {(o.get("metadata") or {}).get("namespace") for o in known} - {None}
                if len(namespaces) > 1:
                    lines.append(("fail", "-", source, "-", "-", "documents in several namespaces: %s" % ", ".join(sorted(namespaces))))
                    continue
                n += 1
                ident = "m%03d" % n
                f = os.path.join(out, ident + ".yaml")
                with open(f, "w", encoding="utf-8") as fh:
                    if len(known) == len(objs):
                        fh.write(body)
                    else:
                        yaml.safe_dump_all(known, fh, sort_keys=False)
                ns = namespaces.pop() if namespaces else "-"
                lines.append(("manifest", ident, source, str(len(known)), ns, f))
            elif lang in ("sh", "bash", "shell", "console"):
                joined = re.sub(r"\\\n\s*", " ", body)
                for cmd in joined.split("\n"):
                    cmd = re.sub(r"^\$\s+", "", cmd.strip())
                    if not re.match(r"kubectl\s+(-n\s+\S+\s+|--namespace[= ]\S+\s+)?create\s+secret\b", cmd):
                        continue
                    if "--dry-run" in cmd or "|" in cmd:
                        continue
                    cmd = re.sub(r"\s+#.*$", "", cmd)
                    try:
                        words = shlex.split(cmd)
                    except ValueError as e:
                        lines.append(("fail", "-", source, "-", "-", "the command does not parse: %s: %s" % (e, cmd)))
                        continue
                    ns = "-"
                    for i, w in enumerate(words):
                        if w in ("-n", "--namespace") and i + 1 < len(words):
                            ns = words[i + 1]
                        elif w.startswith("--namespace="):
                            ns = w.split("=", 1)[1]
                        elif w.startswith("--from-file=") or w.startswith("--from-env-file="):
                            v = w.split("=", 1)[1]
                            p = v.split("=", 1)[1] if "=" in v else v
                            fp = os.path.normpath(os.path.join(out, "files", p))
                            if not fp.startswith(os.path.join(out, "files")):
                                continue
                            os.makedirs(os.path.dirname(fp), exist_ok=True)
                            with open(fp, "w") as fh:
                                fh.write("KEY=placeholder\n" if w.startswith("--from-env-file=") else "placeholder\n")
                    tls = {}
                    for i, w in enumerate(words):
                        for flag in ("--cert", "--key"):
                            if w == flag and i + 1 < len(words):
                                tls[flag] = words[i + 1]
                            elif w.startswith(flag + "="):
                                tls[flag] = w.split("=", 1)[1]
                    if len(tls) == 2:  # kubectl checks the pair: make a real one
                        cert, key = (os.path.normpath(os.path.join(out, "files", tls[f])) for f in ("--cert", "--key"))
                        for fp in (cert, key):
                            os.makedirs(os.path.dirname(fp), exist_ok=True)
                        subprocess.run(
                            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                             "-nodes", "-days", "1", "-subj", "/CN=docs-test", "-keyout", key, "-out", cert],
                            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        )
                    n += 1
                    ident = "s%03d" % n
                    f = os.path.join(out, ident + ".sh")
                    with open(f, "w", encoding="utf-8") as fh:
                        fh.write(cmd + "\n")
                    lines.append(("secret", ident, source, "-", ns, f))
    for l in lines:
        print("\t".join(l))
    return 0


if __name__ == "__main__":
    sys.exit(main())
