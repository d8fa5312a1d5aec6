"""The Job stand-in: a Job controller and a kubelet that run containers as
local processes.

Owns, for each batch/v1 Job: creating its Pods (`<job>-<5 chars>`, labels
job-name / controller-uid, a controller ownerReference, the
`batch.kubernetes.io/job-tracking` finalizer), running the first container
of each Pod as a local process, and writing Pod status (phase,
containerStatuses[0].state.running/terminated with exitCode, reason
Completed|Error|StartError, `message` from the termination-message file)
and Job status (active, ready, succeeded, failed, startTime,
completionTime, conditions Complete/SuccessCriteriaMet or
Failed/FailureTarget with reason BackoffLimitExceeded or DeadlineExceeded).
Retries up to `backoffLimit` (restartPolicy Never: a new Pod each time;
OnFailure: the container restarts in the same Pod), kills the process
group at `activeDeadlineSeconds` (the active Pod is then deleted, as the
real controller does), honours `suspend` at creation and
`ttlSecondsAfterFinished`, and kills the process of a Pod that is deleted.

How a container becomes a process (see README.md):
- argv: `command + args`. command[0] is kept when it is an absolute path
  that exists on this host; otherwise, if the image has an --image-map
  entry, the mapped binary replaces it; otherwise a bare name is looked up
  on PATH. Without `command`, argv is the mapped binary + args.
- Paths: each volumeMount's mountPath, the terminationMessagePath and the
  service-account folder are mapped to host folders, and every occurrence
  of such a path in an argument or env value (at a path boundary) is
  rewritten to the host path.
- env: value (with $(VAR) expansion), valueFrom secretKeyRef /
  configMapKeyRef (optional honoured) / fieldRef, envFrom; a missing
  Secret or key leaves the Pod Pending with CreateContainerConfigError.
"""

import base64
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid

from errors import ApiError
from store import now_rfc3339, random_suffix

JOBS = "batch/jobs"
PODS = "/pods"
TRACKING = "batch.kubernetes.io/job-tracking"
PASS_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "LD_LIBRARY_PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS",
            "LSAN_OPTIONS", "MSAN_OPTIONS", "VALGRIND_OPTS")


class ConfigError(Exception):
    """A Pod cannot start yet: (waiting reason, message)."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason
        self.message = message


def _cond(ctype, status, reason="", message=""):
    now = now_rfc3339()
    c = {"type": ctype, "status": status, "lastProbeTime": now, "lastTransitionTime": now}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


class Kubelet:
    """Runs one Pod's first container and reports its status."""

    def __init__(self, ctl, pod):
        self.ctl = ctl
        self.store = ctl.store
        self.ns = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.uid = pod["metadata"]["uid"]
        self.dir = os.path.join(ctl.workdir, "pods", self.ns, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.killed = None  # why the process was killed: "deadline", "deleted", "timeout"
        self.lock = threading.Lock()

    # --- status writes ------------------------------------------------------

    def set_status(self, fn):
        def mut(cur):
            if cur is None or cur["metadata"].get("uid") != self.uid:
                return cur
            st = cur.setdefault("status", {})
            fn(st, cur)
            return cur
        try:
            return self.store.internal_mutate(PODS, self.ns, self.name, mut, "status")
        except ApiError:
            return None

    def pod(self):
        p = self.store.try_get(PODS, self.ns, self.name)
        return p if p is not None and p["metadata"].get("uid") == self.uid else None

    # --- resolving ----------------------------------------------------------

    def _secret(self, name, optional):
        s = self.store.try_get("/secrets", self.ns, name)
        if s is None and not optional:
            raise ConfigError("CreateContainerConfigError", 'secret "%s" not found' % name)
        return s

    def _configmap(self, name, optional):
        c = self.store.try_get("/configmaps", self.ns, name)
        if c is None and not optional:
            raise ConfigError("CreateContainerConfigError", 'configmap "%s" not found' % name)
        return c

    def _field(self, pod, path):
        m = pod["metadata"]
        simple = {"metadata.name": m.get("name"), "metadata.namespace": m.get("namespace"),
                  "metadata.uid": m.get("uid"), "spec.nodeName": pod["spec"].get("nodeName"),
                  "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
                  "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1", "status.podIPs": "127.0.0.1",
                  "status.hostIPs": "127.0.0.1"}
        if path in simple:
            return simple[path] or ""
        mm = re.match(r"^metadata\.(labels|annotations)\['([^']+)'\]$", path)
        if mm:
            return (m.get(mm.group(1)) or {}).get(mm.group(2), "")
        raise ConfigError("CreateContainerConfigError", "unsupported fieldRef fieldPath: %s" % path)

    def resolve_env(self, pod, c):
        env = {}
        for src in c.get("envFrom") or []:
            prefix = src.get("prefix", "")
            if src.get("secretRef"):
                s = self._secret(src["secretRef"].get("name"), src["secretRef"].get("optional"))
                for k, v in ((s or {}).get("data") or {}).items():
                    env[prefix + k] = base64.b64decode(v).decode("utf-8", "replace")
            if src.get("configMapRef"):
                cm = self._configmap(src["configMapRef"].get("name"), src["configMapRef"].get("optional"))
                for k, v in ((cm or {}).get("data") or {}).items():
                    env[prefix + k] = v
        for e in c.get("env") or []:
            name = e.get("name")
            if "value" in e or not e.get("valueFrom"):
                env[name] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)",
                                   lambda mm: env.get(mm.group(1), mm.group(0)), e.get("value", ""))
                continue
            vf = e["valueFrom"]
            if vf.get("secretKeyRef"):
                ref = vf["secretKeyRef"]
                s = self._secret(ref.get("name"), ref.get("optional"))
                data = (s or {}).get("data") or {}
                if ref.get("key") in data:
                    env[name] = base64.b64decode(data[ref["key"]]).decode("utf-8", "replace")
                elif s is not None and not ref.get("optional"):
                    raise ConfigError("CreateContainerConfigError", "couldn't find key %s in Secret %s/%s"
                                      % (ref.get("key"), self.ns, ref.get("name")))
            elif vf.get("configMapKeyRef"):
                ref = vf["configMapKeyRef"]
                cm = self._configmap(ref.get("name"), ref.get("optional"))
                data = (cm or {}).get("data") or {}
                if ref.get("key") in data:
                    env[name] = data[ref["key"]]
                elif cm is not None and not ref.get("optional"):
                    raise ConfigError("CreateContainerConfigError", "couldn't find key %s in ConfigMap %s/%s"
                                      % (ref.get("key"), self.ns, ref.get("name")))
            elif vf.get("fieldRef"):
                env[name] = self._field(pod, vf["fieldRef"].get("fieldPath", ""))
            elif vf.get("resourceFieldRef"):
                env[name] = "0"
        return env

    def _write_files(self, folder, data, items, default_mode, binary):
        os.makedirs(folder, exist_ok=True)
        wanted = items if items else [{"key": k, "path": k} for k in data]
        for it in wanted:
            if it.get("key") not in data:
                raise ConfigError("ContainerCreating", "configmap or secret key %s not found" % it.get("key"))
            path = os.path.join(folder, it.get("path", it["key"]))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            raw = base64.b64decode(data[it["key"]]) if binary else str(data[it["key"]]).encode()
            with open(path, "wb") as f:
                f.write(raw)
            os.chmod(path, it.get("mode", default_mode if default_mode is not None else 0o644) & 0o777)

    def volumes(self, pod, c):
        """Materialises the volumes; returns [(mountPath, host path)]."""
        hostdirs = {}
        for v in pod["spec"].get("volumes") or []:
            vdir = os.path.join(self.dir, "volumes", v.get("name", ""))
            if "secret" in v:
                sv = v["secret"] or {}
                s = self.store.try_get("/secrets", self.ns, sv.get("secretName"))
                if s is None and not sv.get("optional"):
                    raise ConfigError("ContainerCreating", 'MountVolume.SetUp failed for volume "%s" : secret "%s" '
                                      'not found' % (v.get("name"), sv.get("secretName")))
                self._write_files(vdir, (s or {}).get("data") or {}, sv.get("items"), sv.get("defaultMode"), True)
            elif "configMap" in v:
                cv = v["configMap"] or {}
                cm = self._configmap(cv.get("name"), True)
                if cm is None and not cv.get("optional"):
                    raise ConfigError("ContainerCreating", 'MountVolume.SetUp failed for volume "%s" : configmap '
                                      '"%s" not found' % (v.get("name"), cv.get("name")))
                self._write_files(vdir, (cm or {}).get("data") or {}, cv.get("items"), cv.get("defaultMode"), False)
            elif "persistentVolumeClaim" in v:
                claim = (v["persistentVolumeClaim"] or {}).get("claimName")
                if self.store.try_get("/persistentvolumeclaims", self.ns, claim) is None:
                    raise ConfigError("ContainerCreating", 'persistentvolumeclaim "%s" not found' % claim)
                vdir = os.path.join(self.ctl.volumes_dir, self.ns, claim)
                os.makedirs(vdir, exist_ok=True)
            elif "emptyDir" in v:
                os.makedirs(vdir, exist_ok=True)
            elif "downwardAPI" in v:
                os.makedirs(vdir, exist_ok=True)
                for it in (v["downwardAPI"] or {}).get("items") or []:
                    if it.get("fieldRef"):
                        with open(os.path.join(vdir, it["path"]), "w") as f:
                            f.write(self._field(pod, it["fieldRef"].get("fieldPath", "")))
            else:
                raise ConfigError("CreateContainerConfigError", "volume %s: this volume type is not supported by the "
                                  "test API server (secret, configMap, persistentVolumeClaim, emptyDir, downwardAPI "
                                  "are)" % v.get("name"))
            hostdirs[v.get("name")] = vdir
        mounts = []
        for vm in c.get("volumeMounts") or []:
            host = hostdirs.get(vm.get("name"))
            if host is None:
                continue
            if vm.get("subPath"):
                host = os.path.join(host, vm["subPath"])
                os.makedirs(host, exist_ok=True)
            mounts.append((vm["mountPath"].rstrip("/") or "/", host))
        if pod["spec"].get("automountServiceAccountToken", True) is not False:
            sa = os.path.join(self.dir, "serviceaccount")
            os.makedirs(sa, exist_ok=True)
            for fname, content in (("token", self.ctl.token), ("namespace", self.ns), ("ca.crt", self.ctl.ca_pem)):
                with open(os.path.join(sa, fname), "w") as f:
                    f.write(content or "")
            mounts.append(("/var/run/secrets/kubernetes.io/serviceaccount", sa))
        return mounts

    # --- running ------------------------------------------------------------

    def argv(self, c):
        image = c.get("image", "")
        mapped = self.ctl.map_image(image)
        command, args = list(c.get("command") or []), list(c.get("args") or [])
        if command:
            first = command[0]
            if os.path.isabs(first) and os.path.isfile(first) and os.access(first, os.X_OK):
                return command + args
            if mapped:
                return [mapped] + command[1:] + args
            found = shutil.which(first) if "/" not in first else None
            if found:
                return [found] + command[1:] + args
            raise FileNotFoundError('exec: "%s": executable file not found in $PATH (and image %s has no '
                                    '--image-map entry)' % (first, image))
        if mapped:
            return [mapped] + args
        raise FileNotFoundError("image %s has no --image-map entry and the container sets no command" % image)

    @staticmethod
    def rewrite(value, mounts):
        for mount, host in sorted(mounts, key=lambda m: -len(m[0])):
            pattern = r"(?<![A-Za-z0-9_.\-/])" + re.escape(mount) + r"(?=$|[/\s'\";:,)=&|>])"
            value = re.sub(pattern, lambda _m, h=host: h, value)
        return value

    def run(self, deadline):
        """Runs the container (restarting it for OnFailure while the job's
        backoffLimit allows); returns (exit code or None, why)."""
        pod = self.pod()
        if pod is None:
            return None, "deleted"
        c = (pod["spec"].get("containers") or [{}])[0]
        term_path = c.get("terminationMessagePath") or "/dev/termination-log"
        term_file = os.path.join(self.dir, "termination-log")
        while True:
            try:
                env = self.resolve_env(pod, c)
                mounts = self.volumes(pod, c)
                break
            except ConfigError as e:
                self.set_status(lambda st, cur, e=e: self._waiting(st, cur, e.reason, e.message))
                if self._wait_or_stop(1.0, deadline):
                    return None, self.killed or "deadline"
                pod = self.pod()
                if pod is None:
                    return None, "deleted"
        mounts.append((term_path, term_file))
        restarts = 0
        while True:
            open(term_file, "w").close()
            code, why, started, finished = self._run_once(pod, c, env, mounts, term_file, deadline)
            msg = self._termination_message(c, term_file, code)
            terminated = {"exitCode": code, "reason": why, "startedAt": started, "finishedAt": finished,
                          "containerID": "containerd://" + uuid.uuid4().hex}
            if msg:
                terminated["message"] = msg
            restart = (pod["spec"].get("restartPolicy") == "OnFailure" and code != 0 and self.killed is None
                       and self.ctl.may_restart(self, restarts + 1))
            self.set_status(lambda st, cur, t=terminated, r=restarts, again=restart:
                            self._terminated(st, cur, t, r, again))
            if not restart:
                return code, self.killed or ("ok" if code == 0 else "failed")
            restarts += 1
            self.ctl.count_restart(self)
            if self._wait_or_stop(self.ctl.backoff_seconds, deadline):
                return code, self.killed or "deadline"

    def _wait_or_stop(self, seconds, deadline):
        end = time.time() + seconds
        while time.time() < end:
            if self.killed or (deadline and time.time() >= deadline):
                if deadline and time.time() >= deadline and not self.killed:
                    self.killed = "deadline"
                return True
            time.sleep(0.05)
        return False

    def _termination_message(self, c, term_file, code):
        try:
            with open(term_file, "rb") as f:
                msg = f.read(4096).decode("utf-8", "replace")
        except OSError:
            msg = ""
        if not msg and code not in (0, None) and c.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            try:
                with open(os.path.join(self.dir, "log"), "rb") as f:
                    data = f.read()
                lines = data.decode("utf-8", "replace").splitlines()[-80:]
                msg = "\n".join(lines)[-2048:]
            except OSError:
                msg = ""
        return msg

    def _run_once(self, pod, c, env, mounts, term_file, deadline):
        started = now_rfc3339()
        try:
            argv = [self.rewrite(a, mounts) for a in self.argv(c)]
        except FileNotFoundError as e:
            self._start_error(term_file, "failed to create containerd task: failed to create shim task: OCI "
                              "runtime create failed: %s" % e)
            return 128, "StartError", started, now_rfc3339()
        penv = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        penv.update({"HOSTNAME": self.name, "HOME": os.path.join(self.dir, "home"),
                     "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.ctl.port)})
        os.makedirs(penv["HOME"], exist_ok=True)
        for k, v in env.items():
            penv[k] = self.rewrite(v, mounts)
        for k in self.ctl.pass_env:
            if k in os.environ:
                penv.setdefault(k, os.environ[k])
        cwd = self.rewrite(c["workingDir"], mounts) if c.get("workingDir") else self.dir
        if not os.path.isdir(cwd):
            cwd = self.dir
        log = open(os.path.join(self.dir, "log"), "ab")
        try:
            with self.lock:
                if self.killed:
                    return 137, "Error", started, now_rfc3339()
                self.proc = subprocess.Popen(argv, env=penv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            log.close()
            self._start_error(term_file, "failed to create containerd task: failed to create shim task: OCI "
                              "runtime create failed: exec: %s" % e)
            return 128, "StartError", started, now_rfc3339()
        self.ctl.register(self)
        self.set_status(lambda st, cur: self._running(st, cur, started))
        limit = time.time() + self.ctl.max_seconds
        while self.proc.poll() is None:
            if not self.killed:
                if deadline and time.time() >= deadline:
                    self.kill("deadline")
                elif time.time() > limit:
                    self.kill("timeout")
            time.sleep(0.05)
        log.close()
        self.ctl.unregister(self)
        rc = self.proc.returncode
        code = 128 - rc if rc < 0 else rc
        return code, "Completed" if code == 0 else "Error", started, now_rfc3339()

    def _start_error(self, term_file, msg):
        """A container that cannot start: the runtime's message becomes the
        terminated.message, as containerd reports it."""
        with open(term_file, "w") as f:
            f.write(msg)

    def kill(self, why):
        """SIGTERM to the process group, SIGKILL one second later."""
        with self.lock:
            self.killed = self.killed or why
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            return

        def hard():
            time.sleep(1.0)
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
        threading.Thread(target=hard, daemon=True).start()

    # --- status shapes ------------------------------------------------------

    def _base(self, st, cur):
        st.setdefault("hostIP", "127.0.0.1")
        st.setdefault("hostIPs", [{"ip": "127.0.0.1"}])
        st.setdefault("startTime", now_rfc3339())

    def _cstatus(self, cur, state, ready, restarts=0, last=None):
        c = (cur["spec"].get("containers") or [{}])[0]
        cs = {"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": ready,
              "restartCount": restarts, "started": "running" in state, "state": state}
        if last:
            cs["lastState"] = last
        return cs

    def _waiting(self, st, cur, reason, message):
        self._base(st, cur)
        st["phase"] = "Pending"
        st["conditions"] = [_cond("PodScheduled", "True"), _cond("Initialized", "True"),
                            _cond("Ready", "False", "ContainersNotReady", "containers with unready status: [%s]"
                                  % cur["spec"]["containers"][0].get("name")),
                            _cond("ContainersReady", "False", "ContainersNotReady")]
        st["containerStatuses"] = [self._cstatus(cur, {"waiting": {"reason": reason, "message": message}}, False)]

    def _running(self, st, cur, started):
        self._base(st, cur)
        restarts = ((st.get("containerStatuses") or [{}])[0]).get("restartCount", 0)
        last = ((st.get("containerStatuses") or [{}])[0]).get("lastState")
        st["phase"] = "Running"
        st["podIP"] = "127.0.0.1"
        st["podIPs"] = [{"ip": "127.0.0.1"}]
        st["conditions"] = [_cond("PodReadyToStartContainers", "True"), _cond("Initialized", "True"),
                            _cond("Ready", "True"), _cond("ContainersReady", "True"), _cond("PodScheduled", "True")]
        st["containerStatuses"] = [self._cstatus(cur, {"running": {"startedAt": started}}, True, restarts, last)]

    def _terminated(self, st, cur, terminated, restarts, restarting):
        self._base(st, cur)
        if restarting:
            st["containerStatuses"] = [self._cstatus(
                cur, {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting failed container"}},
                False, restarts + 1, {"terminated": terminated})]
            return
        last = ((st.get("containerStatuses") or [{}])[0]).get("lastState")
        st["phase"] = "Succeeded" if terminated["exitCode"] == 0 else "Failed"
        st["conditions"] = [_cond("PodReadyToStartContainers", "False"), _cond("Initialized", "True"),
                            _cond("Ready", "False", "PodCompleted"), _cond("ContainersReady", "False", "PodCompleted"),
                            _cond("PodScheduled", "True")]
        st["containerStatuses"] = [self._cstatus(cur, {"terminated": terminated}, False, restarts, last)]
        if self.killed == "deadline":
            st["reason"] = "DeadlineExceeded"
            st["message"] = "Pod was active on the node longer than the specified deadline"


class JobRunner(threading.Thread):
    """Drives one Job from start to Complete or Failed."""

    def __init__(self, ctl, job):
        super().__init__(name="job-" + job["metadata"]["name"], daemon=True)
        self.ctl = ctl
        self.store = ctl.store
        self.ns = job["metadata"]["namespace"]
        self.name = job["metadata"]["name"]
        self.uid = job["metadata"]["uid"]
        self.stopped = threading.Event()
        self.kubelet = None
        self.failed = 0  # failed pods (status.failed)
        self.restarts = 0  # container restarts (restartPolicy OnFailure)
        self.succeeded = 0

    def job(self):
        j = self.store.try_get(JOBS, self.ns, self.name)
        return j if j is not None and j["metadata"].get("uid") == self.uid else None

    def set_status(self, fn):
        def mut(cur):
            if cur is None or cur["metadata"].get("uid") != self.uid:
                return cur
            fn(cur.setdefault("status", {}))
            return cur
        try:
            return self.store.internal_mutate(JOBS, self.ns, self.name, mut, "status")
        except ApiError:
            return None

    def stop(self):
        self.stopped.set()
        if self.kubelet is not None:
            self.kubelet.kill("deleted")

    def run(self):
        try:
            self._run()
        except Exception as e:  # a runner must never take the server down
            self.ctl.log("job %s/%s: %r" % (self.ns, self.name, e))
        finally:
            self.ctl.runner_done(self)

    def _run(self):
        job = self.job()
        if job is None:
            return
        spec = job.get("spec") or {}
        backoff = spec.get("backoffLimit", 6)
        completions = spec.get("completions") or 1
        started = time.time()
        deadline = started + spec["activeDeadlineSeconds"] if spec.get("activeDeadlineSeconds") else None

        def begin(st):
            st.setdefault("startTime", now_rfc3339())
            st.update({"active": 0, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}})
        self.set_status(begin)
        while self.succeeded < completions and not self.stopped.is_set():
            if deadline and time.time() >= deadline:
                return self._finish_failed("DeadlineExceeded", "Job was active longer than specified deadline")
            pod = self._create_pod(job)
            if pod is None:
                return
            self.kubelet = Kubelet(self.ctl, pod)
            self.set_status(lambda st: st.update({"active": 1, "ready": 0}))
            code, why = self.kubelet.run(deadline)
            if why in ("deadline", "deleted") and code is None:
                code = 137
            self._release(self.kubelet, delete=(why == "deadline"))
            if self.stopped.is_set():
                return
            if code == 0 and why == "ok":
                self.succeeded += 1
                self.set_status(lambda st: st.update({"active": 0, "ready": 0, "succeeded": self.succeeded}))
                continue
            self.failed += 1
            self.set_status(lambda st: st.update({"active": 0, "ready": 0, "failed": self.failed}))
            if why == "deadline":
                return self._finish_failed("DeadlineExceeded", "Job was active longer than specified deadline")
            if self.failed + self.restarts > backoff:
                return self._finish_failed("BackoffLimitExceeded", "Job has reached the specified backoff limit")
            delay = self.ctl.backoff_seconds * (2 ** (self.failed - 1))
            end = time.time() + min(delay, 60)
            while time.time() < end and not self.stopped.is_set():
                if deadline and time.time() >= deadline:
                    break
                time.sleep(0.05)
        if self.succeeded >= completions:
            self._finish_complete()

    def _create_pod(self, job):
        from kinds import default_pod_spec
        tmpl = (job.get("spec") or {}).get("template") or {}
        tmeta = tmpl.get("metadata") or {}
        pod_rt = self.ctl.registry.find("", "v1", "pods")
        spec = dict(tmpl.get("spec") or {})
        spec["nodeName"] = "lifeboat-test-node"
        default_pod_spec(spec)
        labels = dict(tmeta.get("labels") or {})
        labels.update({"batch.kubernetes.io/controller-uid": self.uid, "batch.kubernetes.io/job-name": self.name,
                       "controller-uid": self.uid, "job-name": self.name})
        body = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "%s-%s" % (self.name[:57], random_suffix()), "labels": labels,
                             "annotations": dict(tmeta.get("annotations") or {}),
                             "finalizers": [TRACKING],
                             "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": self.name,
                                                  "uid": self.uid, "controller": True,
                                                  "blockOwnerDeletion": True}]},
                "spec": spec,
                "status": {"phase": "Pending", "qosClass": "BestEffort", "conditions": [_cond("PodScheduled", "True")]}}
        if not body["metadata"]["annotations"]:
            del body["metadata"]["annotations"]
        try:
            return self.store.create(pod_rt, self.ns, body, {"internal": True})
        except ApiError as e:
            self.ctl.log("job %s/%s: creating a pod: %s" % (self.ns, self.name, e.message))
            return None

    def _release(self, kubelet, delete=False):
        """Accounts for a finished pod: drops the tracking finalizer (and
        deletes the pod when the Job's deadline passed)."""
        pod_rt = self.ctl.registry.find("", "v1", "pods")
        if delete:
            try:
                self.store.delete(pod_rt, kubelet.ns, kubelet.name, {"propagationPolicy": "Background"})
            except ApiError:
                pass

        def drop(cur):
            if cur is not None and cur["metadata"].get("uid") == kubelet.uid:
                cur["metadata"]["finalizers"] = [f for f in cur["metadata"].get("finalizers") or [] if f != TRACKING]
            return cur
        try:
            self.store.internal_mutate(PODS, kubelet.ns, kubelet.name, drop)
        except ApiError:
            pass

    def _finish_complete(self):
        def fin(st):
            st.update({"active": 0, "ready": 0, "succeeded": self.succeeded, "completionTime": now_rfc3339()})
            st["conditions"] = (st.get("conditions") or []) + [
                _cond("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
                _cond("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods")]
        self.set_status(fin)
        self._ttl()

    def _finish_failed(self, reason, message):
        def fin(st):
            st.update({"active": 0, "ready": 0, "failed": self.failed})
            st["conditions"] = (st.get("conditions") or []) + [
                _cond("FailureTarget", "True", reason, message), _cond("Failed", "True", reason, message)]
        self.set_status(fin)
        self._ttl()

    def _ttl(self):
        job = self.job()
        ttl = ((job or {}).get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        end = time.time() + ttl
        while time.time() < end and not self.stopped.is_set():
            time.sleep(0.1)
        if not self.stopped.is_set():
            try:
                self.store.delete(self.ctl.registry.find("batch", "v1", "jobs"), self.ns, self.name,
                                  {"propagationPolicy": "Background", "preconditions": {"uid": self.uid}})
            except ApiError:
                pass


class JobController:
    """Starts a JobRunner per Job and kills the processes of deleted Pods."""

    def __init__(self, store, registry, log, workdir, volumes_dir, image_map, port, token, ca_pem,
                 max_seconds=900, backoff_seconds=0.5, pass_env=()):
        self.store, self.registry, self.log = store, registry, log
        self.workdir, self.volumes_dir = workdir, volumes_dir
        self.image_map = dict(image_map)
        self.port, self.token, self.ca_pem = port, token, ca_pem
        self.max_seconds = max_seconds
        self.backoff_seconds = backoff_seconds
        self.pass_env = list(pass_env)
        self.q = store.subscribe()
        self.runners = {}
        self.kubelets = {}  # pod uid -> Kubelet with a live process
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="jobs", daemon=True)

    def start(self):
        self.thread.start()

    def map_image(self, image):
        if image in self.image_map:
            return self.image_map[image]
        repo = image.split("@")[0]
        if ":" in repo.rsplit("/", 1)[-1]:
            repo = repo.rsplit(":", 1)[0]
        return self.image_map.get(repo) or self.image_map.get("*")

    def register(self, kubelet):
        with self.lock:
            self.kubelets[kubelet.uid] = kubelet

    def unregister(self, kubelet):
        with self.lock:
            self.kubelets.pop(kubelet.uid, None)

    def may_restart(self, kubelet, restarts):
        """OnFailure: container restarts count against backoffLimit too."""
        runner = self._runner_of(kubelet)
        if runner is None:
            return restarts <= 6
        job = runner.job()
        limit = ((job or {}).get("spec") or {}).get("backoffLimit", 6)
        return runner.failed + runner.restarts + 1 <= limit

    def count_restart(self, kubelet):
        runner = self._runner_of(kubelet)
        if runner is not None:
            runner.restarts += 1

    def _runner_of(self, kubelet):
        with self.lock:
            for r in self.runners.values():
                if r is not None and r.kubelet is kubelet:
                    return r
        return None

    def runner_done(self, runner):
        with self.lock:
            if self.runners.get(runner.uid) is runner:
                self.runners[runner.uid] = None  # done; never restarted

    def _loop(self):
        while True:
            etype, key, obj, old = self.q.get()
            try:
                self._handle(etype, key, obj)
            except Exception as e:
                self.log("jobs: %r" % (e,))

    def _handle(self, etype, key, obj):
        m = obj["metadata"]
        if key == JOBS:
            uid = m["uid"]
            if etype == "DELETED" or m.get("deletionTimestamp"):
                with self.lock:
                    r = self.runners.get(uid)
                if r is not None:
                    r.stop()
                return
            spec = obj.get("spec") or {}
            finished = any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                           for c in (obj.get("status") or {}).get("conditions") or [])
            if spec.get("suspend") or finished:
                return
            with self.lock:
                if uid in self.runners:
                    return
                r = JobRunner(self, obj)
                self.runners[uid] = r
            r.start()
        elif key == PODS and (etype == "DELETED" or m.get("deletionTimestamp")):
            with self.lock:
                k = self.kubelets.get(m["uid"])
            if k is not None:
                k.kill("deleted")
            elif etype != "DELETED" and TRACKING in (m.get("finalizers") or []):
                # No live process: nothing to wait for, let the pod go.
                def drop(cur):
                    if cur is not None:
                        cur["metadata"]["finalizers"] = [f for f in cur["metadata"].get("finalizers") or []
                                                         if f != TRACKING]
                    return cur
                self.store.internal_mutate(PODS, m["namespace"], m["name"], drop)

    def shutdown(self):
        """Kills every child process group (the server is exiting)."""
        with self.lock:
            ks = list(self.kubelets.values())
        for k in ks:
            with k.lock:
                k.killed = k.killed or "shutdown"
                proc = k.proc
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
