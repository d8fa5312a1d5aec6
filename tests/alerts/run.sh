#!/usr/bin/env bash
# tests/alerts/run.sh: Lifeboat's alerts (charts/lifeboat/files/alerts.yaml,
# the file the chart's PrometheusRule ships) with Debian's promtool; needs no
# cluster and no Prometheus server:
#  - promtool check rules (syntax, PromQL, templates);
#  - promtool test rules: each test group of tests/alerts/*.test.yaml run on
#    its own, one PASS or FAIL per group;
#  - every alert has a test case where it fires and one where it does not,
#    a severity, a summary, a description and a runbook_url whose anchor is
#    a heading of docs/alerts.md, which quotes its expression as it is;
#  - every lifeboat_* metric a rule uses is a family the operator exports
#    (operator/metrics.c's table) and is in docs/operator.md's metrics table,
#    so a renamed metric fails here rather than silently never alerting.
# Results go to $LIFEBOAT_RESULTS (tests/lib/t.sh); exit 1 when a check failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
T_SUITE=${T_SUITE:-alerts}
# shellcheck source=tests/lib/t.sh
source tests/lib/t.sh
RULES=charts/lifeboat/files/alerts.yaml
PROMTOOL=${PROMTOOL:-promtool}
# Debian's python3 (python3-yaml comes with python3-kubernetes, setup-deps.sh)
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
W=$(mktemp -d /tmp/lifeboat-alerts.XXXXXX)
trap 'rm -rf "$W"' EXIT
# Counted here too when run on its own, for the exit status.
[[ $LIFEBOAT_RESULTS == /dev/null ]] && LIFEBOAT_RESULTS=$W/results.txt
start=$(grep -c '^FAIL' "$LIFEBOAT_RESULTS" 2>/dev/null || true)

echo "  -- promtool check rules"
t_run "promtool check rules $RULES" 0 "$PROMTOOL" check rules "$RULES"
t_contains "promtool check rules: ...finds the 5 alerts" "SUCCESS: 5 rules found"

echo "  -- promtool test rules, one group at a time"
# Each group into a file of its own (rule_files made absolute), so a failing
# group is named and the others still count.
"$PY" - "$W" "$root" tests/alerts/*.test.yaml >"$W/groups.txt" <<'PY'
import os, sys, yaml
out, root = sys.argv[1], sys.argv[2]
n = 0
for path in sys.argv[3:]:
    doc = yaml.safe_load(open(path))
    here = os.path.dirname(os.path.abspath(path))
    doc["rule_files"] = [os.path.normpath(os.path.join(here, f)) for f in doc["rule_files"]]
    for i, group in enumerate(doc["tests"]):
        n += 1
        one = dict(doc, tests=[group])
        name = "%s: %s" % (os.path.basename(path), group.get("name", "group %d" % (i + 1)))
        f = os.path.join(out, "group-%03d.test.yaml" % n)
        yaml.safe_dump(one, open(f, "w"), sort_keys=False)
        print("%s\t%s" % (f, name))
PY
ngroups=0
while IFS=$'\t' read -r file name; do
	ngroups=$((ngroups + 1))
	t_run "promtool test rules: $name" 0 "$PROMTOOL" test rules "$file"
done <"$W/groups.txt"
t_true "promtool test rules: groups found ($ngroups)" test "$ngroups" -ge 10

echo "  -- every alert tested, labelled, annotated, documented"
# One line per finding: "PASS name" or "FAIL name: why".
checker_rc=0
"$PY" - "$RULES" docs/alerts.md operator/metrics.c docs/operator.md tests/alerts/*.test.yaml >"$W/checks.txt" 2>"$W/checks.err" <<'PY' || checker_rc=$?
import re, sys, yaml
rules_path, alerts_md, metrics_c, operator_md = sys.argv[1:5]
tests = sys.argv[5:]
rules = [r for g in yaml.safe_load(open(rules_path))["groups"] for r in g["rules"]]
alerts = [r for r in rules if "alert" in r]

def check(ok, name, why):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)))

# GitHub's anchors: lower case, punctuation dropped, spaces to dashes.
def anchor(heading):
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")
anchors = {anchor(m.group(1)) for m in re.finditer(r"^#+ (.*)$", open(alerts_md).read(), re.M)}
md = open(alerts_md).read()
promql = [b.strip() for b in re.findall(r"^```promql\n(.*?)^```", md, re.M | re.S)]

fires, quiet = set(), set()
for path in tests:
    for group in yaml.safe_load(open(path))["tests"]:
        for case in group.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else quiet).add(case["alertname"])

for r in alerts:
    a = r["alert"]
    check(a in fires, "%s: a test case where it fires" % a, "no alert_rule_test expects it")
    check(a in quiet, "%s: a test case where it does not fire" % a, "no alert_rule_test with exp_alerts: []")
    sev = r.get("labels", {}).get("severity")
    check(sev in ("warning", "critical"), "%s: severity warning or critical" % a, "severity %r" % sev)
    ann = r.get("annotations", {})
    for k in ("summary", "description", "runbook_url"):
        check(bool(ann.get(k)), "%s: annotation %s" % (a, k), "missing")
    url = ann.get("runbook_url", "")
    want = "docs/alerts.md#" + a.lower()
    check(url == want, "%s: runbook_url is %s" % (a, want), "it is %r" % url)
    check(a.lower() in anchors, "%s: docs/alerts.md has its heading" % a, "no heading %r" % a)
    check(r["expr"].strip() in promql, "%s: docs/alerts.md quotes its expression as it is" % a,
          "no promql block equals the rule's expr")

# The metric names the expressions use (not label names, not functions).
src = open(metrics_c).read()
exported = set(re.findall(r'\{"(lifeboat_[a-z0-9_]+)"', src))
doc = open(operator_md).read()
used = set()
for r in rules:
    used |= set(re.findall(r"\blifeboat_[a-z0-9_]+", r["expr"]))
check(len(used) >= 8, "the rules use the operator's metrics (%d names)" % len(used), sorted(used))
for m in sorted(used):
    check(m in exported, "metric %s: the operator exports it (operator/metrics.c)" % m,
          "not a family in metrics_operator_families")
    check("`%s`" % m in doc, "metric %s: docs/operator.md lists it" % m, "not in the metrics table")
PY
while IFS= read -r line; do
	case $line in
	PASS\ *) t_pass "${line#PASS }" ;;
	FAIL\ *)
		rest=${line#FAIL }
		t_fail "${rest%%: *}" "${rest#*: }"
		;;
	esac
done <"$W/checks.txt"
if [[ $checker_rc -eq 0 && -s $W/checks.txt ]]; then
	t_pass "the checks ran"
else
	t_fail "the checks ran" "the checker exited $checker_rc: $(tail -c 800 "$W/checks.err")"
fi

end=$(grep -c '^FAIL' "$LIFEBOAT_RESULTS" 2>/dev/null || true)
[[ $end -eq $start ]]
