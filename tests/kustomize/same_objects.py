"""same_objects.py KUSTOMIZE_OUT HELM_OUT: the objects `kubectl kustomize`
builds are the ones `helm template` renders, but for the labels config/
changes on purpose (helm.sh/chart dropped, app.kubernetes.io/managed-by
kustomize) and the Namespace, which the chart leaves to
`helm install --create-namespace`. Prints the differences; exit 1 on any."""
import sys

import yaml


def load(path, helm):
    objs = {}
    for o in yaml.safe_load_all(open(path)):
        if not o:
            continue
        if helm:
            for labels in labelsets(o):
                labels.pop("helm.sh/chart", None)
                if labels.get("app.kubernetes.io/managed-by") == "Helm":
                    labels["app.kubernetes.io/managed-by"] = "kustomize"
        md = o["metadata"]
        objs[(o["kind"], md.get("namespace", ""), md["name"])] = o
    return objs


def labelsets(o):
    md = o.get("metadata", {})
    if "labels" in md:
        yield md["labels"]
    tmd = o.get("spec", {}).get("template", {}).get("metadata", {}) if isinstance(o.get("spec"), dict) else {}
    if "labels" in tmd:
        yield tmd["labels"]


k = load(sys.argv[1], False)
h = load(sys.argv[2], True)
k.pop(("Namespace", "", "lifeboat-system"), None)
bad = 0
for key in sorted(set(k) | set(h)):
    if key not in h:
        print("only in config/: %s %s/%s" % key)
        bad = 1
    elif key not in k:
        print("only in the chart: %s %s/%s" % key)
        bad = 1
    elif k[key] != h[key]:
        print("differs: %s %s/%s" % key)
        print("  config/: %s" % yaml.safe_dump(k[key].get("spec", k[key]))[:600])
        bad = 1
print("%d objects, %s" % (len(k), "the same" if not bad else "NOT the same"))
sys.exit(bad)
