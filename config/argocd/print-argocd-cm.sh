#!/usr/bin/env bash
# config/argocd/print-argocd-cm.sh [--helm-values]: prints Argo CD's
# argocd-cm ConfigMap holding the Lifeboat health checks, one key a kind
# (resource.customizations.health.lifeboat.dev_<Kind>), made from the scripts
# in config/argocd/health/ (the one source: docs/gitops.md shows this output,
# and tests/gitops/run.sh checks that the two agree). Apply it as a merge
# patch, which keeps argocd-cm's other keys:
#   kubectl -n argocd patch configmap argocd-cm --type merge \
#     --patch-file <(config/argocd/print-argocd-cm.sh)
# With --helm-values it prints the same keys as values of the argo-cd Helm
# chart (configs.cm) instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kinds=(DatabaseBackup BackupSchedule DatabaseRestore)
case ${1:-} in
--helm-values)
	printf 'configs:\n  cm:\n'
	indent='    '
	;;
'')
	cat <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
YAML
	indent='  '
	;;
*)
	echo "usage: $0 [--helm-values]" >&2
	exit 2
	;;
esac
for kind in "${kinds[@]}"; do
	file=$here/health/lifeboat.dev_$kind.lua
	[[ -s $file ]] || { echo "$0: $file is missing" >&2; exit 1; }
	printf '%sresource.customizations.health.lifeboat.dev_%s: |\n' "$indent" "$kind"
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ -z $line ]]; then echo; else printf '%s  %s\n' "$indent" "$line"; fi
	done <"$file"
done
