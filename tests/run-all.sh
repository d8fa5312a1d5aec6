#!/usr/bin/env bash
# `make test`: builds, then runs every suite: unit (cmocka), gcc -fanalyzer
# and integration (real PostgreSQL, gpg, pg_restore) in the normal build; the
# libFuzzer targets (tests/fuzz) for a fixed number of inputs; unit and
# integration again under ASan+UBSan; the pipeline cycle under valgrind;
# then, once, the end-to-end suites on the real Kubernetes control plane
# (tests/cluster) with the ASan+UBSan binaries. Ends with "N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export LIFEBOAT_RESULTS
LIFEBOAT_RESULTS=$(mktemp /tmp/lifeboat-results.XXXXXX)
jobs=$(nproc 2>/dev/null || echo 2)
started=$(date +%s)

# Each step's heading; the previous step's time, so slow ones show.
step_t=
step() {
	local now
	now=$(date +%s)
	[[ -n $step_t ]] && printf '   (step took %d s)\n' "$((now - step_t))"
	step_t=$now
	printf '\n== %s\n' "$*"
}
record_build() { # label, make args...
	local label=$1
	shift
	if make -s -j"$jobs" "$@" >/tmp/lifeboat-build.log 2>&1; then
		echo "PASS build: $label" >>"$LIFEBOAT_RESULTS"
		return 0
	fi
	cat /tmp/lifeboat-build.log
	echo "FAIL build: $label: compilation failed (see above)" >>"$LIFEBOAT_RESULTS"
	return 1
}

# gcc -fanalyzer over every C file (make analyze, the normal build's flags):
# one PASS line, or one FAIL line per file with findings.
record_analyze() {
	local log=/tmp/lifeboat-analyze.log finding='^[^ :]+:[0-9]+:[0-9]+: (error|warning): ' rc
	timeout 1200 make -s analyze >"$log" 2>&1
	rc=$?
	if [[ $rc -eq 0 ]]; then
		echo "PASS analyze: $(tail -1 "$log")" >>"$LIFEBOAT_RESULTS"
		return 0
	fi
	if ! grep -qE "$finding" "$log"; then
		tail -20 "$log"
		echo "FAIL analyze: make analyze exited $rc with no finding to name (output above)" >>"$LIFEBOAT_RESULTS"
		return 1
	fi
	grep -E "$finding" "$log"
	echo "(the path of events to each: $log)"
	awk -v re="$finding" '$0 ~ re {
		f = $0; sub(/:.*/, "", f)
		if (!(f in n)) {
			order[++k] = f
			first[f] = substr($0, length(f) + 2)
			sub(/ (error|warning): /, " ", first[f])
		}
		n[f]++
	}
	END {
		for (i = 1; i <= k; i++)
			printf "FAIL analyze: %s: %d finding%s, the first at %s\n", order[i], n[order[i]],
				n[order[i]] == 1 ? "" : "s", first[order[i]]
	}' "$log" >>"$LIFEBOAT_RESULTS"
	return 1
}

# clang-format over every C file (make format-check): one PASS line, or one
# FAIL line per file that is not formatted, naming its first place.
record_format() {
	local log=/tmp/lifeboat-format.log
	if timeout 300 make -s format-check >"$log" 2>&1; then
		echo "PASS format: every C file of the tree is clang-formatted" >>"$LIFEBOAT_RESULTS"
		return
	fi
	grep -E '^[^ :]+:[0-9]+:[0-9]+: error: ' "$log" | awk -F: '!seen[$1]++ { printf "FAIL format: %s: not clang-formatted, the first at %s:%s (make format)\n", $1, $2, $3 }' >>"$LIFEBOAT_RESULTS"
	grep -q '^FAIL format' "$LIFEBOAT_RESULTS" || { cat "$log"; echo "FAIL format: make format-check failed (output above)" >>"$LIFEBOAT_RESULTS"; }
}

unit_bins() { # build folder
	for src in tests/unit/test_*.c; do
		b=${src#tests/unit/}
		printf '%s/tests/%s ' "$1" "${b%.c}"
	done
}

step "set-up check: every command the suites call is installed"
T_SUITE=deps timeout 120 tests/deps/check-commands.sh
T_SUITE=deps timeout 60 tests/deps/check-troubleshooting.sh
T_SUITE=deps timeout 60 tests/deps/check-layout.sh

step "alerts: promtool check rules and test rules over charts/lifeboat/files/alerts.yaml"
T_SUITE=alerts timeout 300 tests/alerts/run.sh

step "build (-Wall -Wextra -Werror)"
# shellcheck disable=SC2046
if record_build "normal" all build/kubetool $(unit_bins build); then
	step "unit tests"
	# shellcheck disable=SC2046
	UNIT_LABEL=unit tests/run-unit.sh build $(unit_bins build)
	step "static analysis: gcc -fanalyzer over every C file of the tree (make analyze)"
	record_analyze
	step "format: clang-format --dry-run --Werror over every C file of the tree (make format-check)"
	record_format
	step "integration tests (PostgreSQL, gpg, pg_restore)"
	T_SUITE=integration LIFEBOAT="$root/build/lifeboat" timeout 1800 tests/integration/run.sh
	step "Azure Blob storage (Azurite, PostgreSQL)"
	T_SUITE=azure LIFEBOAT="$root/build/lifeboat" timeout 600 tests/storage/azure.sh
	step "S3 storage (s3rver behind a botocore SigV4 proxy and a fault injector, aws CLI, PostgreSQL)"
	T_SUITE=s3 LIFEBOAT="$root/build/lifeboat" timeout 600 tests/storage/s3.sh
	step "valgrind: unit tests"
	# shellcheck disable=SC2046
	UNIT_LABEL=unit-valgrind UNIT_WRAPPER="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
		tests/run-unit.sh build $(unit_bins build)
	step "valgrind: the pipeline cycle"
	T_SUITE=valgrind LIFEBOAT_TESTS='v_*.sh' \
		LIFEBOAT="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect $root/build/lifeboat" \
		timeout 1800 tests/integration/run.sh
fi

# libFuzzer targets (clang, ASan+UBSan): the saved crash inputs, then a
# fixed number of inputs each from the seed corpus (docs/testing.md
# "Fuzzing"; `make fuzz` runs them longer).
step "fuzzing (libFuzzer, ASan+UBSan): tests/fuzz/run.sh --runs ${FUZZ_RUNS:-30000}"
if record_build "fuzz targets (clang)" fuzz-build; then
	timeout 900 tests/fuzz/run.sh --runs "${FUZZ_RUNS:-30000}" ||
		grep -q "^FAIL fuzz" "$LIFEBOAT_RESULTS" || echo "FAIL fuzz: the suite exited before its end (output above)" >>"$LIFEBOAT_RESULTS"
fi

step "build with AddressSanitizer + UndefinedBehaviorSanitizer"
# shellcheck disable=SC2046
if record_build "asan+ubsan" BUILD=build/asan SAN=1 build/asan/lifeboat build/asan/kubetool $(if [[ -f operator/main.c ]]; then echo build/asan/lifeboat-operator; fi) $(unit_bins build/asan); then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	step "unit tests (ASan+UBSan)"
	# shellcheck disable=SC2046
	UNIT_LABEL=unit-asan tests/run-unit.sh build/asan $(unit_bins build/asan)
	step "integration tests (ASan+UBSan)"
	T_SUITE=integration-asan LIFEBOAT="$root/build/asan/lifeboat" timeout 1800 tests/integration/run.sh
	step "Azure Blob storage (ASan+UBSan)"
	T_SUITE=azure-asan LIFEBOAT="$root/build/asan/lifeboat" timeout 600 tests/storage/azure.sh
	step "S3 storage (ASan+UBSan)"
	T_SUITE=s3-asan LIFEBOAT="$root/build/asan/lifeboat" timeout 600 tests/storage/s3.sh
	# Servers built from Go modules (test infrastructure, cached outside the
	# tree; a cold build takes minutes), then the suites against them, once.
	step "storage peers: SeaweedFS and fake-gcs-server from Go modules (tests/peers/build.sh)"
	for peer in seaweedfs fakegcs; do
		if timeout 3600 tests/peers/build.sh "$peer" >/tmp/lifeboat-peer.log 2>&1; then
			echo "PASS build: test peer $peer ($(tail -1 /tmp/lifeboat-peer.log))" >>"$LIFEBOAT_RESULTS"
		else
			cat /tmp/lifeboat-peer.log
			echo "FAIL build: test peer $peer: see the log above" >>"$LIFEBOAT_RESULTS"
		fi
	done
	step "S3 storage against SeaweedFS, which checks SigV4 itself (ASan+UBSan)"
	S3_PEER=seaweedfs T_SUITE=s3-seaweedfs-asan LIFEBOAT="$root/build/asan/lifeboat" timeout 900 tests/storage/s3.sh
	step "GCS JSON API with a service-account key: fake-gcs-server behind a token endpoint and bearer check (ASan+UBSan)"
	T_SUITE=gcs-asan LIFEBOAT="$root/build/asan/lifeboat" timeout 900 tests/storage/gcs.sh

	# End to end on the real control plane, once, with the ASan+UBSan
	# binaries: one cluster for every suite (each keeps to its namespaces).
	step "control plane: etcd, kube-apiserver, kube-controller-manager, node agent (tests/cluster/up)"
	cluster=$(mktemp -d /tmp/lifeboat-cluster.XXXXXX)
	if LIFEBOAT_BIN_DIR="$root/build/asan" CLUSTER_TTL=3000 timeout 1200 tests/cluster/up "$cluster"; then
		echo "PASS cluster: the control plane starts and its node is Ready" >>"$LIFEBOAT_RESULTS"
		export CLUSTER_DIR=$cluster
		step "node agent: Go unit tests (go test -v)"
		timeout 600 tests/cluster/build.sh --go-test -v >/tmp/lifeboat-gotest.log 2>&1
		gorc=$?
		sed -n 's/^ *--- PASS: \([^ ]*\).*/PASS nodeagent-go: \1/p; s/^ *--- FAIL: \([^ ]*\).*/FAIL nodeagent-go: \1 (see go test output above)/p' \
			/tmp/lifeboat-gotest.log >>"$LIFEBOAT_RESULTS"
		grep -E '^(ok|FAIL|---)' /tmp/lifeboat-gotest.log | tail -40
		if [[ $gorc -ne 0 ]]; then
			tail -30 /tmp/lifeboat-gotest.log
			echo "FAIL nodeagent-go: go test exited $gorc" >>"$LIFEBOAT_RESULTS"
		fi
		step "node agent: pods as local processes, judged by the real Job and Deployment controllers"
		T_SUITE=cluster timeout 600 tests/cluster/test-nodeagent.sh "$cluster"
		step "admission: a validating webhook called for real"
		T_SUITE=webhook timeout 300 tests/cluster/test-webhook.sh "$cluster"
		step "real clients: kubectl 1.32 and 1.33, python3-kubernetes, helm"
		T_SUITE=clients timeout 600 tests/cluster/test-clients.sh "$cluster"
		if [[ -x tests/crds/run.sh ]]; then
			step "CRDs: schemas, defaults, CEL rules, printer columns on the real apiserver"
			T_SUITE=crds timeout 600 tests/crds/run.sh
		fi
		step "docs: every Lifeboat and core manifest and kubectl create secret command of docs/*.md through a server-side dry run; docs/README.md lists every page"
		T_SUITE=docs timeout 300 tests/docs/manifests.sh
		step "C Kubernetes client (ASan+UBSan): verbs, RBAC, 410, the informer storm through a fault proxy"
		T_SUITE=kube KUBETOOL="$root/build/asan/kubetool" timeout 900 tests/kube/run.sh
		step "operator parts (ASan+UBSan): Lease leader election, Events, /healthz /readyz /metrics"
		T_SUITE=operator-parts KUBETOOL="$root/build/asan/kubetool" timeout 300 tests/kube/run-operator-parts.sh
		step "DatabaseRestore admission webhook (ASan+UBSan kubetool): requested-by recorded, forged values overwritten, changes refused, certificate rotation, failurePolicy Fail"
		T_SUITE=webhook-restore KUBETOOL="$root/build/asan/kubetool" timeout 300 tests/kube/run-webhook.sh
		if [[ -x build/asan/lifeboat-operator ]]; then
			export LIFEBOAT_OBJECTS_DIR=$cluster/objects # the e2e suites save objects there for tests/gitops/run.sh
			step "DatabaseBackup end to end (ASan+UBSan operator): Completed, InvalidSpec, Failed, deadline, immutable spec, Delete/Retain, SIGKILL at each phase, two replicas"
			LIFEBOAT_BIN_DIR="$root/build/asan" timeout 900 tests/e2e/backup.sh ||
				echo "FAIL e2e-backup: the suite exited $? before its end (output above)" >>"$LIFEBOAT_RESULTS"
			step "DatabaseBackup to object storage end to end (ASan+UBSan operator): S3 via s3rver + SigV4 check, Azure via Azurite, GCS with a service-account key via fake-gcs-server"
			LIFEBOAT_BIN_DIR="$root/build/asan" timeout 600 tests/e2e/backup-storage.sh ||
				echo "FAIL e2e-storage: the suite exited $? before its end (output above)" >>"$LIFEBOAT_RESULTS"
			step "BackupSchedule end to end (ASan+UBSan operator, test clock): runs, retention, Forbid, suspend/resume, an outage, a bad zone, Replace with a 253-character name"
			LIFEBOAT_BIN_DIR="$root/build/asan" timeout 600 tests/e2e/schedule.sh ||
				echo "FAIL e2e-schedule: the suite exited $? before its end (output above)" >>"$LIFEBOAT_RESULTS"
			step "DatabaseRestore end to end (ASan+UBSan operator): confirm, safety backup, restore, audit record, tampered artifact, wrong passphrase, RequireMatch, SIGKILL at each phase, disaster recovery"
			LIFEBOAT_BIN_DIR="$root/build/asan" timeout 900 tests/e2e/restore.sh ||
				echo "FAIL e2e-restore: the suite exited $? before its end (output above)" >>"$LIFEBOAT_RESULTS"
			step "Argo CD health checks (lua5.1) over the objects the e2e suites saved and tests/gitops/objects/; the argocd-cm snippet and docs/gitops.md"
			T_SUITE=gitops timeout 300 tests/gitops/run.sh tests/gitops/objects "$LIFEBOAT_OBJECTS_DIR" ||
				grep -q "^FAIL gitops" "$LIFEBOAT_RESULTS" || echo "FAIL gitops: the suite exited before its end (output above)" >>"$LIFEBOAT_RESULTS"
		fi
		# Last: its releases register webhooks and RBAC cluster-wide for a while.
		step "Helm chart charts/lifeboat: CRD drift, lint and the values schema, template through dry-run=server, the restricted Pod Security Standard, install, RBAC can-i as the ServiceAccounts, the webhook's certificate, upgrade, uninstall"
		T_SUITE=helm timeout 600 tests/helm/run.sh ||
			grep -q "^FAIL helm" "$LIFEBOAT_RESULTS" || echo "FAIL helm: the suite exited before its end (output above)" >>"$LIFEBOAT_RESULTS"
		step "The operator as the chart installs it (ASan+UBSan binaries in the pods): in-cluster under the chart's RBAC, a backup and a restore through the chart's webhook, a rule taken away, upgrade, uninstall keeping the backups"
		LIFEBOAT_BIN_DIR="$root/build/asan" timeout 900 tests/helm/operate.sh ||
			grep -q "^FAIL helm-operate" "$LIFEBOAT_RESULTS" || echo "FAIL helm-operate: the suite exited before its end (output above)" >>"$LIFEBOAT_RESULTS"
		step "Plain manifests config/ (kubectl apply -k): the drift check against the chart, kustomize against helm template, install, RBAC can-i, the Deployment Available, a backup under it, the safe uninstall and kubectl delete -k"
		LIFEBOAT_BIN_DIR="$root/build/asan" timeout 600 tests/kustomize/run.sh ||
			grep -q "^FAIL kustomize" "$LIFEBOAT_RESULTS" || echo "FAIL kustomize: the suite exited before its end (output above)" >>"$LIFEBOAT_RESULTS"
		unset CLUSTER_DIR
	else
		echo "FAIL cluster: tests/cluster/up $cluster failed (output above; logs in $cluster/logs)" >>"$LIFEBOAT_RESULTS"
	fi
	tests/cluster/down "$cluster" >/dev/null 2>&1
	[[ -z ${LIFEBOAT_KEEP:-} ]] && rm -rf "$cluster"
fi

# Container images: only when the Dockerfile, tests/images/ or the Makefile's
# link lines changed since the last passing run (else one line says so).
step "container images (tests/images/run.sh --if-changed): buildah builds, no shell, labels, reproducibility, a backup by the job image"
T_SUITE=images timeout 3600 tests/images/run.sh --if-changed ||
	grep -q "^FAIL images" "$LIFEBOAT_RESULTS" || echo "FAIL images: the suite exited before its end (output above)" >>"$LIFEBOAT_RESULTS"

passed=$(grep -c '^PASS' "$LIFEBOAT_RESULTS")
failed=$(grep -c '^FAIL' "$LIFEBOAT_RESULTS")
if [[ $failed -gt 0 ]]; then
	step "failures"
	grep '^FAIL' "$LIFEBOAT_RESULTS" | cut -c1-400
fi
printf '\n(%d s)\n%d passed, %d failed\n' "$(($(date +%s) - started))" "$passed" "$failed"
rm -f "$LIFEBOAT_RESULTS"
[[ $failed -eq 0 && $passed -gt 0 ]]
