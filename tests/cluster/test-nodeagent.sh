#!/usr/bin/env bash
# tests/cluster/test-nodeagent.sh DIR: checks the node agent (our kubelet
# stand-in, tests/cluster/cmd/nodeagent) against the real control plane that
# `tests/cluster/up DIR` started, with kubectl 1.32: env and volumes as the
# kubelet resolves them, a projected service-account token the apiserver
# accepts, exit codes and termination messages, Jobs judged by the real Job
# controller, graceful deletion (SIGTERM reaches the process), active
# deadlines, OOMKilled on demand, a Deployment with readiness probes,
# `kubectl logs`, restarts with back-off, and namespace deletion.
#
# Results go to $LIFEBOAT_RESULTS (suite "cluster"). Every process the test
# starts runs under `timeout` and listens on 127.0.0.0/8 only (pod IPs are
# loopback addresses). About a minute.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
DIR="${1:?usage: tests/cluster/test-nodeagent.sh DIR (a cluster started by tests/cluster/up DIR)}"
# shellcheck source=/dev/null
source "$DIR/env"
T_SUITE=${T_SUITE:-cluster}
# shellcheck source=../lib/t.sh
source "$root/tests/lib/t.sh"

KUBECTL=$("$root/tests/cluster/kubectl.sh" 32)
work="$(mktemp -d /tmp/nodeagent-test.XXXXXX)"
NS="nodeagent-test-$$"
cleanup() {
	K delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
K() { timeout 90 "$KUBECTL" --cache-dir "$work/kubecache" --request-timeout=60s -n "$NS" "$@"; }
jp() { K get "$1" -o "jsonpath=$2"; } # jp OBJECT JSONPATH
# wait_phase POD PHASE [SECONDS]
wait_phase() { K wait "pod/$1" --for="jsonpath={.status.phase}=$2" --timeout="${3:-60}s" >/dev/null; }
# until_true SECONDS CMD...: polls CMD every 0.5 s.
until_true() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 2; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}
t0=$SECONDS
echo "test-nodeagent: namespace $NS on $APISERVER_URL"

t_run "namespace created" 0 K create namespace "$NS"
# Pods need the namespace's ServiceAccount and kube-root-ca.crt (controllers).
t_true "default ServiceAccount and kube-root-ca.crt appear" until_true 30 \
	bash -c "'$KUBECTL' --cache-dir '$work/kubecache' -n '$NS' get serviceaccount/default configmap/kube-root-ca.crt"

mkdir -p "$work/host"
# An --image-map entry of the running agent (from DIR/nodeagent.args, which
# `up` writes): NAME=PATH[:ENTRY].
img_name="" img_path=""
if [[ -r $DIR/nodeagent.args ]]; then
	mapfile -d '' agent_args <"$DIR/nodeagent.args"
	for ((i = 0; i + 1 < ${#agent_args[@]}; i++)); do
		if [[ ${agent_args[i]} == --image-map ]]; then
			img_name="${agent_args[i + 1]%%=*}"
			img_path="${agent_args[i + 1]#*=}"
			[[ $img_path == *:/* ]] && img_path="${img_path%:/*}"
			break
		fi
	done
fi
cat >"$work/objects.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: s1}
stringData: {user: alice, password: s3cret}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c1}
data: {color: blue, size: L}
---
apiVersion: v1
kind: Pod
metadata:
  name: env
  labels: {app: envtest}
  annotations: {note: hi-there}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    command: [sh, -c]
    args: ['echo "ARG=\$(GREETING)"; env | sort']
    resources:
      requests: {cpu: 250m, memory: 32Mi}
      limits: {memory: 64Mi}
    envFrom:
    - configMapRef: {name: c1}
      prefix: CM_
    - secretRef: {name: s1}
    - configMapRef: {name: no-such-cm, optional: true}
    env:
    - {name: USER_NAME, valueFrom: {secretKeyRef: {name: s1, key: user}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: s1, key: password}}}
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: c1, key: color}}}
    - {name: OPT_KEY, valueFrom: {configMapKeyRef: {name: c1, key: nope, optional: true}}}
    - {name: OPT_CM, valueFrom: {configMapKeyRef: {name: no-such-cm, key: x, optional: true}}}
    - {name: GREETING, value: 'hello \$(USER_NAME)'}
    - {name: LITERAL, value: 'keep-\$\$(USER_NAME)'}
    - {name: UNKNOWN, value: 'x\$(NOPE)y'}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
    - {name: POD_LABEL, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
    - {name: POD_NOTE, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['note']"}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
    - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: POD_IPS, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}
    - {name: MEM_LIMIT_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: CPU_REQ_M, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}
    - {name: CPU_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
    - {name: MEM_REQ, valueFrom: {resourceFieldRef: {containerName: c, resource: requests.memory}}}
---
apiVersion: v1
kind: Pod
metadata: {name: vols, labels: {app: vols}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: [sh, -c]
    args:
    - |
      echo "pw=\$(cat /etc/lifeboat/secret/creds/pw)"
      echo "modes=\$(stat -L -c %a /etc/lifeboat/secret/creds/pw /etc/lifeboat/secret/user | tr '\n' ,)"
      echo "color=\$(cat /config/color.txt)"
      echo "cmall=\$(ls /cmall | tr '\n' ,)"
      echo "cmmode=\$(stat -L -c %a /cmall/size)"
      test -e /config/size || echo "no-size"
      touch /config/x 2>/dev/null || echo "config-readonly"
      echo hi > /scratch/f && echo "scratch=\$(cat /scratch/f)"
      echo "ns=\$(cat /podinfo/ns) labels=\$(cat /podinfo/labels)"
      test -e /usr/bin/sh && echo "host-usr-visible"
      touch /usr/x 2>/dev/null || echo "usr-readonly"
    volumeMounts:
    - {name: sec, mountPath: /etc/lifeboat/secret}
    - {name: cm, mountPath: /config}
    - {name: cmall, mountPath: /cmall}
    - {name: scratch, mountPath: /scratch}
    - {name: podinfo, mountPath: /podinfo}
  volumes:
  - name: sec
    secret:
      secretName: s1
      defaultMode: 288
      items:
      - {key: password, path: creds/pw, mode: 256}
      - {key: user, path: user}
  - name: cm
    configMap:
      name: c1
      items: [{key: color, path: color.txt}]
  - name: cmall
    configMap: {name: c1, defaultMode: 384}
  - name: scratch
    emptyDir: {}
  - name: podinfo
    downwardAPI:
      items:
      - {path: ns, fieldRef: {fieldPath: metadata.namespace}}
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
---
apiVersion: v1
kind: Pod
metadata: {name: token, labels: {k: v}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: curlimages/curl
    command: [sh, -c]
    args:
    - |
      sa=/var/run/secrets/kubernetes.io/serviceaccount
      api=https://\$KUBERNETES_SERVICE_HOST:\$KUBERNETES_SERVICE_PORT
      echo "api=\$(timeout 20 curl -sS -o /dev/null -w '%{http_code}' --cacert \$sa/ca.crt -H "Authorization: Bearer \$(cat \$sa/token)" \$api/api)"
      echo "secrets=\$(timeout 20 curl -sS --cacert \$sa/ca.crt -H "Authorization: Bearer \$(cat \$sa/token)" \$api/api/v1/namespaces/\$(cat \$sa/namespace)/secrets | tr -d '\n')"
      echo "bogus=\$(timeout 20 curl -sS -o /dev/null -w '%{http_code}' --cacert \$sa/ca.crt -H "Authorization: Bearer bogus" \$api/api)"
---
apiVersion: v1
kind: Pod
metadata: {name: exit3}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'echo "it broke" > /dev/termination-log; exit 3']
---
apiVersion: v1
kind: Pod
metadata: {name: fallback}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    terminationMessagePolicy: FallbackToLogsOnError
    command: [sh, -c, 'echo first; echo "last words"; exit 4']
---
apiVersion: v1
kind: Pod
metadata: {name: notfound}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: [no-such-command-here]
---
apiVersion: v1
kind: Pod
metadata: {name: noimage}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: registry.example/not-mapped:1.0
---
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 20
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'trap "echo got-TERM > /out/term; exit 0" TERM; echo started; timeout 601 sleep 601 & wait']
    volumeMounts: [{name: out, mountPath: /out}]
  volumes:
  - name: out
    hostPath: {path: $work/host, type: Directory}
---
apiVersion: v1
kind: Pod
metadata: {name: deadline}
spec:
  restartPolicy: Never
  activeDeadlineSeconds: 3
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: [timeout, "600", sleep, "600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: oom
  annotations:
    nodeagent.lifeboat.dev/oom-kill: "c"
    nodeagent.lifeboat.dev/oom-kill-after-seconds: "1"
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: [timeout, "600", sleep, "600"]
---
apiVersion: v1
kind: Pod
metadata: {name: follow}
spec:
  restartPolicy: Never
  initContainers:
  - name: init
    image: busybox
    command: [sh, -c, 'echo from-init > /shared/msg']
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'cat /shared/msg; for i in 1 2 3; do echo line\$i; sleep 1; done']
    volumeMounts: [{name: shared, mountPath: /shared}]
  volumes:
  - {name: shared, emptyDir: {}}
---
apiVersion: v1
kind: Pod
metadata: {name: crashloop}
spec:
  restartPolicy: Always
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'echo run; exit 1']
---
apiVersion: v1
kind: Pod
metadata: {name: liveness}
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'rm -f /tmp/dead; sleep 2; touch /tmp/dead; exec timeout 600 sleep 600']
    livenessProbe:
      exec: {command: [sh, -c, 'test ! -e /tmp/dead']}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: secctx}
spec:
  restartPolicy: Never
  securityContext: {runAsUser: 65534, runAsGroup: 65534, fsGroup: 2000, runAsNonRoot: true}
  containers:
  - name: c
    image: busybox
    securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
    command: [sh, -c]
    args:
    - |
      echo "uid=\$(id -u) gid=\$(id -g) groups=\$(id -G)"
      touch /rootfile 2>/dev/null || echo root-readonly
      touch /tmp/x 2>/dev/null || echo tmp-readonly
      echo ok > /data/f && echo data-writable
      echo "datagid=\$(stat -c %g /data)"
      grep NoNewPrivs /proc/self/status
      echo "hostname=\$(cat /etc/hostname) \$(hostname)"
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata: {name: nonroot}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true}
  containers:
  - {name: c, image: busybox, command: [sh, -c, 'echo should not run']}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: pvc}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: [sh, -c]
    args:
    - |
      echo persisted > /data/hello && echo wrote
      cat /ro/hello
      touch /ro/x 2>/dev/null || echo mount-readonly
      touch /claim-ro/x 2>/dev/null || echo claim-readonly
      mkdir -p /data/sub && echo in-sub > /data/sub/f && echo "sub=\$(cat /sub/f)"
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: data, mountPath: /ro, readOnly: true}
    - {name: data-ro, mountPath: /claim-ro}
    - {name: data, mountPath: /sub, subPath: sub}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: data-ro, persistentVolumeClaim: {claimName: data, readOnly: true}}
---
apiVersion: v1
kind: Pod
metadata: {name: nofit}
spec:
  nodeSelector: {disktype: ssd}
  containers:
  - {name: c, image: busybox, command: [sleep, "1"]}
---
apiVersion: v1
kind: Pod
metadata: {name: initfail}
spec:
  restartPolicy: Never
  initContainers:
  - {name: init, image: busybox, command: [sh, -c, 'exit 5']}
  containers:
  - {name: c, image: busybox, command: [sh, -c, 'echo should not run']}
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  restartPolicy: Never
  hostNetwork: true
  containers:
  - {name: c, image: busybox, command: [sh, -c, 'echo hostnet']}
---
apiVersion: v1
kind: Pod
metadata: {name: mapped}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: ghcr.io/example/${img_name:-none}:0.1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    args: [--help]
---
apiVersion: batch/v1
kind: Job
metadata: {name: job-ok}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: busybox, command: [sh, -c, 'echo job done']}
---
apiVersion: batch/v1
kind: Job
metadata: {name: job-fail}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: busybox, command: [sh, -c, 'echo failing; exit 1']}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: python:3.11
        command: [sh, -c, 'cd /tmp && exec timeout 600 /usr/bin/python3 -m http.server 8080 --bind "\$POD_IP"']
        env:
        - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 1
EOF
t_run "apply the test objects" 0 K apply -f "$work/objects.yaml"

# --- env as the kubelet resolves it.
wait_phase env Succeeded 60 || true
t_run "env pod: kubectl logs" 0 K logs env
# shellcheck disable=SC2016 # literal $(...) expected
for want in "ARG=hello alice" "USER_NAME=alice" "PASSWORD=s3cret" "COLOR=blue" "GREETING=hello alice" \
	'LITERAL=keep-$(USER_NAME)' 'UNKNOWN=x$(NOPE)y' "POD_NAME=env" "POD_NS=$NS" "POD_LABEL=envtest" \
	"POD_NOTE=hi-there" "NODE=$NODE_NAME" "SA=default" "HOST_IP=127.0.0.1" "POD_IP=127.0.1." "POD_IPS=127.0.1." \
	"MEM_LIMIT_MI=64" "CPU_REQ_M=250" "CPU_LIMIT=$(nproc)" "MEM_REQ=33554432" "CM_color=blue" "CM_size=L" \
	"user=alice" "password=s3cret" "HOSTNAME=env" "KUBERNETES_SERVICE_HOST=127.0.0.1" \
	"KUBERNETES_SERVICE_PORT=$APISERVER_PORT" "KUBERNETES_SERVICE_PORT_HTTPS=$APISERVER_PORT"; do
	t_contains "env: $want" "$want"
done
uid="$(jp pod/env '{.metadata.uid}')"
t_contains "env: POD_UID is the pod's uid" "POD_UID=$uid"
if [[ $T_OUT == *OPT_KEY=* || $T_OUT == *OPT_CM=* ]]; then t_fail "env: optional missing keys stay unset" "$T_OUT"; else t_pass "env: optional missing keys stay unset"; fi

# --- volumes: secret and configMap items and modes, emptyDir, downwardAPI.
wait_phase vols Succeeded 60 || true
t_run "volumes pod: logs" 0 K logs vols
for want in "pw=s3cret" "modes=400,440," "color=blue" "cmall=color,size," "cmmode=600" "no-size" \
	"config-readonly" "scratch=hi" "ns=$NS labels=app=\"vols\"" "host-usr-visible" "usr-readonly"; do
	t_contains "volumes: $want" "$want"
done
t_run "volumes pod: phase Succeeded" 0 test "$(jp pod/vols '{.status.phase}')" = Succeeded

# --- the projected service-account token against the real apiserver.
wait_phase token Succeeded 60 || true
t_run "token pod: logs" 0 K logs token
t_contains "token: GET /api with the pod's token is 200" "api=200"
t_contains "token: a forbidden request names the service account (403, not 401)" "system:serviceaccount:$NS:default"
t_contains "token: a bogus token is 401" "bogus=401"

# --- exit codes and termination messages.
wait_phase exit3 Failed 60 || true
t_run "exit 3: exitCode 3 reason Error" 0 test "$(jp pod/exit3 '{.status.containerStatuses[0].state.terminated.exitCode}/{.status.containerStatuses[0].state.terminated.reason}')" = "3/Error"
t_run "exit 3: termination message from the file" 0 test "$(jp pod/exit3 '{.status.containerStatuses[0].state.terminated.message}')" = "it broke"
wait_phase fallback Failed 60 || true
T_OUT="$(jp pod/fallback '{.status.containerStatuses[0].state.terminated.message}')"
t_contains "FallbackToLogsOnError: message is the log tail" "first"$'\n'"last words"
wait_phase notfound Failed 60 || true
T_OUT="$(jp pod/notfound '{.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.reason} {.status.containerStatuses[0].state.terminated.message}')"
t_contains "unknown command: exit 128 StartError" "128 StartError"
# shellcheck disable=SC2016
t_contains "unknown command: the message says why" 'executable file not found in $PATH'
t_true "unmapped image without command: Waiting ErrImagePull" until_true 20 \
	bash -c "[[ \$('$KUBECTL' --cache-dir '$work/kubecache' -n '$NS' get pod/noimage -o 'jsonpath={.status.containerStatuses[0].state.waiting.reason}') == ErrImagePull ]]"
T_OUT="$(jp pod/noimage '{.status.containerStatuses[0].state.waiting.message}')"
t_contains "ErrImagePull message names the image" "registry.example/not-mapped:1.0"

# --- securityContext: users, groups, fsGroup, read-only root, no_new_privs.
wait_phase secctx Succeeded 60 || true
t_run "securityContext pod: logs" 0 K logs secctx
for want in "uid=65534 gid=65534" " 2000" root-readonly tmp-readonly data-writable "datagid=2000" \
	"NoNewPrivs:"$'\t'"1" "hostname=secctx secctx"; do
	t_contains "securityContext: $want" "$want"
done
t_true "runAsNonRoot without runAsUser: CreateContainerConfigError" until_true 20 \
	bash -c "[[ \$('$KUBECTL' --cache-dir '$work/kubecache' -n '$NS' get pod/nonroot -o 'jsonpath={.status.containerStatuses[0].state.waiting.reason}') == CreateContainerConfigError ]]"

# --- a PersistentVolumeClaim is a folder of DIR/volumes; readOnly honoured.
wait_phase pvc Succeeded 60 || true
t_run "PVC pod: logs" 0 K logs pvc
for want in wrote persisted mount-readonly claim-readonly "sub=in-sub"; do
	t_contains "PVC: $want" "$want"
done
t_run "PVC: the data is in DIR/volumes/<ns>/<claim>" 0 grep -qx persisted "$LIFEBOAT_CLUSTER_DIR/volumes/$NS/data/hello"

# --- scheduling: a nodeSelector that does not match stays Pending.
t_true "nodeSelector mismatch: PodScheduled=False Unschedulable" until_true 20 \
	bash -c "[[ \$('$KUBECTL' --cache-dir '$work/kubecache' -n '$NS' get pod/nofit -o 'jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].reason}') == Unschedulable ]]"
t_run "nodeSelector mismatch: not bound" 0 test -z "$(jp pod/nofit '{.spec.nodeName}')"

# --- a failed init container with restartPolicy Never fails the pod.
wait_phase initfail Failed 60 || true
t_run "init failure: exit 5, main container never started" 0 test \
	"$(jp pod/initfail '{.status.initContainerStatuses[0].state.terminated.exitCode}/{.status.containerStatuses[0].state.waiting.reason}')" = "5/PodInitializing"

# --- hostNetwork: the pod IP is the node's.
wait_phase hostnet Succeeded 60 || true
t_run "hostNetwork: podIP is the host IP" 0 test "$(jp pod/hostnet '{.status.podIP}')" = 127.0.0.1

# --- images: a reference ending in an --image-map NAME runs its binary.
if [[ -n $img_name && -x $img_path ]]; then
	t_true "mapped image $img_name: the binary ran" until_true 30 \
		bash -c "[[ -n \$('$KUBECTL' --cache-dir '$work/kubecache' -n '$NS' get pod/mapped -o 'jsonpath={.status.containerStatuses[0].state.terminated.finishedAt}') ]]"
	t_run "mapped image: not a StartError" 1 test "$(jp pod/mapped '{.status.containerStatuses[0].state.terminated.reason}')" = StartError
	T_OUT="$(jp pod/mapped '{.status.containerStatuses[0].imageID}')"
	t_contains "mapped image: imageID is the binary's sha256" "sha256:$(sha256sum "$img_path" | cut -c1-64)"
elif [[ -n $img_name ]]; then
	t_true "mapped image $img_name whose binary is missing: ErrImagePull" until_true 20 \
		bash -c "[[ \$('$KUBECTL' --cache-dir '$work/kubecache' -n '$NS' get pod/mapped -o 'jsonpath={.status.containerStatuses[0].state.waiting.reason}') == ErrImagePull ]]"
	T_OUT="$(jp pod/mapped '{.status.containerStatuses[0].state.waiting.message}')"
	t_contains "ErrImagePull names the missing binary" "$img_path"
fi

# --- Jobs, judged by the real Job controller.
t_run "Job backoffLimit 0 succeeding: Complete" 0 K wait job/job-ok --for=condition=Complete --timeout=60s
t_run "Job backoffLimit 0 failing: Failed" 0 K wait job/job-fail --for=condition=Failed --timeout=60s

# --- graceful deletion: SIGTERM reaches the process, the pod goes.
wait_phase sleeper Running 60 || true
t_true "sleeper: trap installed (logs)" until_true 20 bash -c "'$KUBECTL' --cache-dir '$work/kubecache' -n '$NS' logs sleeper | grep -q started"
s0=$SECONDS
t_run "kubectl delete pod sleeper (waits for it to go)" 0 K delete pod sleeper --timeout=30s
took=$((SECONDS - s0))
t_run "sleeper: gone within 10 s (took ${took}s)" 0 test "$took" -le 10
t_run "sleeper: its SIGTERM trap ran" 0 grep -q got-TERM "$work/host/term"
t_run "sleeper: no longer in the API" 1 K get pod sleeper
# GNU timeout moved itself to a process group of its own: it must die anyway.
t_run "sleeper: none of its processes survive" 1 pgrep -f "sleep 601"

# --- activeDeadlineSeconds and OOMKilled on demand.
wait_phase deadline Failed 60 || true
t_run "activeDeadlineSeconds: Failed, reason DeadlineExceeded" 0 test "$(jp pod/deadline '{.status.phase}/{.status.reason}')" = "Failed/DeadlineExceeded"
wait_phase oom Failed 60 || true
t_run "oom-kill annotation: OOMKilled, exit 137" 0 test "$(jp pod/oom '{.status.containerStatuses[0].state.terminated.reason}/{.status.containerStatuses[0].state.terminated.exitCode}')" = "OOMKilled/137"

# --- init containers and kubectl logs -f.
t_run "init container then main: logs -f follows to the end" 0 K logs -f follow --pod-running-timeout=60s
t_contains "logs -f: the init container's output reached the main one" "from-init"
t_contains "logs -f: all lines" "line3"
t_run "init container: its own log" 0 K logs follow -c init
t_run "init container: terminated exit 0 and ready" 0 test "$(jp pod/follow '{.status.initContainerStatuses[0].state.terminated.exitCode}/{.status.initContainerStatuses[0].ready}')" = "0/true"

# --- restarts: back-off, and a failing liveness probe.
t_true "crash loop: restartCount reaches 2 (1 s, 2 s back-off)" until_true 30 \
	bash -c "(( \$('$KUBECTL' --cache-dir '$work/kubecache' -n '$NS' get pod/crashloop -o 'jsonpath={.status.containerStatuses[0].restartCount}') >= 2 ))"
T_OUT="$(jp pod/crashloop '{.status.containerStatuses[0].lastState.terminated.exitCode} {.status.phase}')"
t_contains "crash loop: lastState terminated exit 1, pod Running" "1 Running"
t_run "crash loop: kubectl logs --previous" 0 K logs crashloop --previous
t_true "liveness probe failure restarts the container" until_true 30 \
	bash -c "(( \$('$KUBECTL' --cache-dir '$work/kubecache' -n '$NS' get pod/liveness -o 'jsonpath={.status.containerStatuses[0].restartCount}') >= 1 ))"

# --- a Deployment whose pods get Ready through an httpGet readiness probe.
t_run "Deployment web: rollout completes (2 Ready replicas)" 0 K rollout status deploy/web --timeout=90s
T_OUT="$(K get pods -l app=web -o 'jsonpath={range .items[*]}{.status.podIP} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')"
ips="$(awk '$2 == "True" {print $1}' <<<"$T_OUT" | sort -u)"
t_run "Deployment web: 2 Ready pods with distinct pod IPs" 0 test "$(wc -l <<<"$ips")" -eq 2
first_ip="$(head -1 <<<"$ips")"
t_run "Deployment web: a pod serves on its pod IP" 0 timeout 10 curl -fsS -o /dev/null "http://$first_ip:8080/"

# --- deleting the namespace finishes (every bound pod is stopped and deleted).
uids="$(jp pods '{.items[*].metadata.uid}')"
s0=$SECONDS
t_run "namespace deletion finishes" 0 timeout 120 "$KUBECTL" --cache-dir "$work/kubecache" delete namespace "$NS" --timeout=100s
t_run "namespace gone (took $((SECONDS - s0))s)" 1 "$KUBECTL" --cache-dir "$work/kubecache" get namespace "$NS"
left=""
for u in $uids; do [[ -e "$LIFEBOAT_CLUSTER_DIR/node/$u" ]] && left+=" $u"; done
t_run "the pods' folders were removed from the node" 0 test -z "$left"
echo "test-nodeagent: done in $((SECONDS - t0))s"
