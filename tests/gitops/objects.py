#!/usr/bin/env python3
"""Helpers of tests/gitops/run.sh, none of which reads the Lua scripts' logic:
  objects.py facts FILE.json        one line of what the object says, e.g.
      "kind=DatabaseBackup phase=Failed ready=False/DatabaseError
       reason_lc=databaseerror generation=current suspend=- last=-"
      (run.sh matches it against the row its file name picks)
  objects.py derive FILE.json HOW OUT.json   a variant of a real object:
      nostatus        status removed (the operator has not seen it yet)
      behind          metadata.generation one past status.observedGeneration
      schedule-lastfailed   status.lastBackup.phase Failed
      backup-deleting       phase Deleting, Ready=False/Deleting
      backup-deletefailed   phase Deleting, Ready=False/DeleteFailed
      backup-unschedulable  phase Pending, Ready=False/PodUnschedulable
      phase-unknown         phase Exploded
      restore-waits         Pending, BackupNotCompleted, the backup still runs
      restore-refused       Pending, BackupNotCompleted, the backup Failed
      restore-unchanged     Failed with targetUnchanged true
  objects.py configmap FILE.yaml HEALTH_DIR [--helm-values]
      checks the printed argocd-cm (or Helm values): exactly the three keys,
      each equal to its file; prints what differs, exits 1
  objects.py docblock DOC.md        prints the YAML block of the doc between
      the argocd-cm markers (exit 1 when there is none)"""
import copy
import json
import sys

KINDS = ("DatabaseBackup", "BackupSchedule", "DatabaseRestore")
BEGIN = "<!-- BEGIN argocd-cm: the output of config/argocd/print-argocd-cm.sh -->"
END = "<!-- END argocd-cm -->"


def ready_of(st):
    for c in (st or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return None


def set_ready(st, status, reason, message):
    conds = st.setdefault("conditions", [])
    for c in conds:
        if c.get("type") == "Ready":
            c.update(status=status, reason=reason, message=message)
            return
    conds.append({"type": "Ready", "status": status, "reason": reason, "message": message})


def facts(path):
    with open(path, encoding="utf-8") as f:
        o = json.load(f)
    st = o.get("status")
    r = ready_of(st)
    gen = o.get("metadata", {}).get("generation")
    seen = (st or {}).get("observedGeneration")
    if st is None:
        g = "nostatus"
    elif gen is not None and (seen is None or seen < gen):
        g = "behind"
    else:
        g = "current"
    spec = o.get("spec") or {}
    last = (st or {}).get("lastBackup") or {}
    print(" ".join([
        "kind=%s" % o.get("kind"),
        "phase=%s" % ((st or {}).get("phase") or "-"),
        "ready=%s/%s" % ((r or {}).get("status", "-"), (r or {}).get("reason", "-")),
        "reason_lc=%s" % ((r or {}).get("reason") or "-").lower(),
        "generation=%s" % g,
        "suspend=%s" % ("true" if spec.get("suspend") is True else "-"),
        "last=%s" % (last.get("phase") or "-"),
    ]))


def derive(path, how, out):
    with open(path, encoding="utf-8") as f:
        o = json.load(f)
    st = o.setdefault("status", {})
    if how == "nostatus":
        del o["status"]
    elif how == "behind":
        gen = o["metadata"].get("generation", 1)
        st["observedGeneration"] = gen
        o["metadata"]["generation"] = gen + 1
    elif how == "schedule-lastfailed":
        st["lastBackup"] = {"name": (st.get("lastBackup") or {}).get("name", "nightly-x"), "phase": "Failed"}
    elif how == "backup-deleting":
        st["phase"] = "Deleting"
        set_ready(st, "False", "Deleting", "Job x-delete removes the stored backup")
        st["message"] = "Job x-delete removes the stored backup"
    elif how == "backup-deletefailed":
        st["phase"] = "Deleting"
        set_ready(st, "False", "DeleteFailed", "deleting the stored backup failed (StorageError)")
        st["message"] = "deleting the stored backup failed (StorageError)"
    elif how == "backup-unschedulable":
        st["phase"] = "Pending"
        set_ready(st, "False", "PodUnschedulable", "the Job's pod cannot be scheduled: 0/3 nodes are available")
        st["message"] = "the Job's pod cannot be scheduled: 0/3 nodes are available"
    elif how == "phase-unknown":
        st["phase"] = "Exploded"
    elif how in ("restore-waits", "restore-refused"):
        st["phase"] = "Pending"
        m = ("DatabaseBackup b1 is Running: only a Completed backup with a stored artifact can be restored; "
             + ("the restore starts once it is Completed" if how == "restore-waits" else "choose another backup"))
        set_ready(st, "False", "BackupNotCompleted", m)
        st["message"] = m
    elif how == "restore-unchanged":
        st["phase"] = "Failed"
        st["targetUnchanged"] = True
    else:
        sys.exit("objects.py derive: unknown variant %s" % how)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(o, f)


def configmap(path, health_dir, helm):
    import yaml
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if helm:
        data = ((doc or {}).get("configs") or {}).get("cm")
    else:
        if (doc or {}).get("kind") != "ConfigMap" or doc.get("metadata", {}).get("name") != "argocd-cm":
            print("not a ConfigMap named argocd-cm")
            return 1
        data = doc.get("data")
    want = {"resource.customizations.health.lifeboat.dev_%s" % k: k for k in KINDS}
    if not isinstance(data, dict) or sorted(data) != sorted(want):
        print("keys %s, wanted %s" % (sorted(data or {}), sorted(want)))
        return 1
    bad = 0
    for key, kind in want.items():
        with open("%s/lifeboat.dev_%s.lua" % (health_dir, kind), encoding="utf-8") as f:
            if data[key] != f.read():
                print("%s differs from lifeboat.dev_%s.lua" % (key, kind))
                bad = 1
    return bad


def docblock(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        print("docblock: %s needs exactly one of each marker" % path, file=sys.stderr)
        return 1
    block = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n").split("\n")
    if len(block) < 2 or block[0] != "```yaml" or block[-1] != "```":
        print("docblock: the markers must hold one ```yaml block", file=sys.stderr)
        return 1
    sys.stdout.write("\n".join(block[1:-1]) + "\n")
    return 0


def main():
    a = sys.argv[1:]
    if a[:1] == ["facts"] and len(a) == 2:
        facts(a[1])
    elif a[:1] == ["derive"] and len(a) == 4:
        derive(a[1], a[2], a[3])
    elif a[:1] == ["configmap"] and len(a) in (3, 4):
        sys.exit(configmap(a[1], a[2], a[3:] == ["--helm-values"]))
    elif a[:1] == ["docblock"] and len(a) == 2:
        sys.exit(docblock(a[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
