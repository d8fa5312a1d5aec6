#!/usr/bin/python3
"""tests/crds/check_crds.py: static checks of crds/*.yaml that need a YAML
parser (Debian's python3-yaml; run it with /usr/bin/python3). Each check
prints "ok NAME" or "FAIL NAME: why" per line; the exit status is 1 when any
check failed. tests/crds/run.sh turns the lines into test results.

    check_crds.py files GEN_JSON          the committed files, read by a YAML
                                          parser, equal the generator's objects;
                                          the shared blocks are identical in all
                                          three; every field has a description
    check_crds.py served GEN_JSON DIR     DIR/<plural>.json (kubectl get crd -o
                                          json) holds the schema we sent, unchanged
"""

import copy
import json
import os
import sys

import yaml

CRDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crds")
failed = 0


def report(name, why=None):
    global failed
    if why:
        failed += 1
        print("FAIL %s: %s" % (name, why))
    else:
        print("ok %s" % name)


def schema(crd):
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def at(node, path):
    for p in path.split("."):
        node = node["properties"][p]
    return node


def bare(node, drop_rules=False):
    """The node without its own description (the one thing a use may set)."""
    n = copy.deepcopy(node)
    n.pop("description", None)
    if drop_rules:
        n.pop("x-kubernetes-validations", None)
    return n


def undescribed(node, path, out):
    """Collects the paths of schema nodes without a description."""
    if path.endswith(".metadata") and path.count(".") == 1:
        return  # root metadata: the API server allows nothing but type there
    if not node.get("description", "").strip():
        out.append(path)
    for k, v in node.get("properties", {}).items():
        undescribed(v, path + "." + k, out)
    if "items" in node:
        undescribed(node["items"], path + "[]", out)
    ap = node.get("additionalProperties")
    if isinstance(ap, dict):
        undescribed(ap, path + "{}", out)


def check_files(gen):
    crds = {}
    for name, want in gen.items():
        with open(os.path.join(CRDS, name), encoding="utf-8") as f:
            got = yaml.safe_load(f)
        report("%s parses (YAML) to exactly the generator's object" % name,
               None if got == want else "the YAML reads back differently from gen.py's object")
        crds[name] = schema(got)
    dbb, dbs, dbr = (crds["databasebackups.yaml"], crds["backupschedules.yaml"],
                     crds["databaserestores.yaml"])
    tmpl = "spec.backupTemplate.spec"
    uses = {
        "storage": [(dbb, "spec.storage"), (dbs, tmpl + ".storage"),
                    (dbr, "spec.source.storage"), (dbr, "spec.safetyBackup.storage")],
        "database": [(dbb, "spec.database"), (dbs, tmpl + ".database"), (dbr, "spec.target")],
        "encryption": [(dbb, "spec.encryption"), (dbs, tmpl + ".encryption"),
                       (dbr, "spec.source.encryption")],
        "jobTemplate": [(dbb, "spec.jobTemplate"), (dbs, tmpl + ".jobTemplate"),
                        (dbr, "spec.jobTemplate")],
        "files": [(dbb, "spec.files"), (dbs, tmpl + ".files"), (dbr, "spec.files")],
        "conditions": [(dbb, "status.conditions"), (dbs, "status.conditions"),
                       (dbr, "status.conditions")],
    }
    for block, places in uses.items():
        first = bare(at(*places[0]))
        if block == "files":  # the folder's description says archive or restore-into
            first["properties"]["path"].pop("description")
        bad = []
        for s, p in places[1:]:
            other = bare(at(s, p))
            if block == "files":
                other["properties"]["path"].pop("description")
            if other != first:
                bad.append(p)
        report("shared block %s is identical in all %d places" % (block, len(places)),
               "differs at %s" % ", ".join(bad) if bad else None)
    # A schedule's template is a DatabaseBackup spec, minus the immutability rule.
    a, b = bare(at(dbb, "spec"), drop_rules=True), bare(at(dbs, tmpl), drop_rules=True)
    report("backupTemplate.spec is the DatabaseBackup spec (but mutable)",
           None if a == b else "the two specs differ")
    report("backupTemplate.spec has no immutability rule",
           "it has x-kubernetes-validations" if "x-kubernetes-validations" in at(dbs, tmpl)
           else None)
    # The description check's own probe: a field stripped of its description
    # must be found.
    probe = copy.deepcopy(dbb)
    at(probe, "spec.storage.s3.bucket").pop("description")
    missing = []
    undescribed(probe, "probe", missing)
    report("the description check finds a field without one",
           None if missing == ["probe.spec.storage.s3.bucket"] else "found %s" % missing)
    for name, s in crds.items():
        missing = []
        undescribed(s, name.split(".")[0], missing)
        report("%s: every field has a description" % name,
               "no description: %s" % ", ".join(missing[:20]) if missing else None)


def check_served(gen, folder):
    for name, want in gen.items():
        plural = name.split(".")[0]
        with open(os.path.join(folder, plural + ".json"), encoding="utf-8") as f:
            got = json.load(f)
        ok = got["spec"]["versions"][0]["schema"] == want["spec"]["versions"][0]["schema"]
        report("the API server stores %s's schema unchanged" % plural,
               None if ok else "the served schema differs from crds/%s" % name)
        cols = got["spec"]["versions"][0].get("additionalPrinterColumns")
        ok = cols == want["spec"]["versions"][0]["additionalPrinterColumns"]
        report("the API server stores %s's printer columns unchanged" % plural,
               None if ok else "printer columns differ")


def main(argv):
    with open(argv[2], encoding="utf-8") as f:
        gen = json.load(f)
    if argv[1] == "files":
        check_files(gen)
    elif argv[1] == "served":
        check_served(gen, argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
