package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
)

// A podWorker runs one pod from binding to deletion, as the kubelet's pod
// worker does: volumes, then init containers one by one, then all
// containers, each restarted per restartPolicy with back-off; probes;
// activeDeadlineSeconds; and, on deletionTimestamp, SIGTERM, the grace
// period, SIGKILL, a final status and the delete with grace 0.

// startMode says how a worker begins.
type startMode int

const (
	modeFresh   startMode = iota
	modeRestart           // was running under an earlier agent, restartPolicy Always: run it again
	modeLost              // was running under an earlier agent: report its containers lost
)

// stopKind says why a pod's containers were stopped.
type stopKind int

const (
	stopNone     stopKind = iota
	stopDeleted           // deletionTimestamp: final status, then delete with grace 0
	stopDeadline          // activeDeadlineSeconds passed: phase Failed, reason DeadlineExceeded
	stopGone              // the pod left the API: kill, write nothing
	stopShutdown          // the agent exits: kill, write nothing
)

const (
	annotationOOMKill      = "nodeagent.lifeboat.dev/oom-kill"
	annotationOOMKillAfter = "nodeagent.lifeboat.dev/oom-kill-after-seconds"
	lostMessage            = "nodeagent restarted; the container's process was lost"
	deadlineMessage        = "Pod was active on the node longer than the specified deadline"
)

type podWorker struct {
	k    *kubelet
	uid  types.UID
	ns   string
	name string
	dir  string // --root-dir/<uid>
	mode startMode

	ctx    context.Context // ends when the pod's containers must stop
	cancel context.CancelFunc
	// Sidecars (restartable init containers) stop after the regular
	// containers: their own context, a child of ctx.
	sidecarCtx    context.Context
	sidecarCancel context.CancelFunc
	sidecars      sync.WaitGroup
	done          chan struct{} // run returned: nothing runs any more
	dirty         chan struct{} // the status changed (capacity 1)
	hurry         chan struct{} // closed when the grace period drops to 0

	writeMu    sync.Mutex    // one status write at a time
	statusStop chan struct{} // ends statusLoop

	mu          sync.Mutex
	pod         *v1.Pod // the newest seen
	podIP       string
	ipFromPool  bool
	startTime   metav1.Time
	sandbox     bool // volumes and pod IP are ready (PodReadyToStartContainers)
	inits, ctrs []*ctr
	volumes     map[string]*podVolume
	phase       v1.PodPhase // set once the pod is terminal
	reason      string      // pod-level status.reason / message
	message     string
	stop        stopKind
	grace       time.Duration
	noWrites    bool // gone or shutdown: never write the pod again
	hurried     bool
	terminating bool // the deletion goroutine runs
	finished    bool // deleted by us: nothing more to write
	deadline    *time.Timer
	deadlineFor time.Time
}

// ctr is one container of the pod; status and proc are guarded by the
// worker's mu.
type ctr struct {
	spec     v1.Container
	init     bool
	sidecar  bool // init container with restartPolicy Always
	status   v1.ContainerStatus
	proc     *process
	log      *logFile
	termFile string         // host file behind terminationMessagePath
	runSpec  *containerSpec // how the current run was started (for exec hooks)
	killReq  chan string    // a probe asks for a restart (capacity 1)
	started  chan struct{}
	startOne sync.Once
	oom      bool
}

func newPodWorker(k *kubelet, pod *v1.Pod, mode startMode) *podWorker {
	ctx, cancel := context.WithCancel(k.ctx)
	w := &podWorker{
		k: k, uid: pod.UID, ns: pod.Namespace, name: pod.Name, dir: k.podDir(pod.UID), mode: mode,
		ctx: ctx, cancel: cancel,
		done: make(chan struct{}), dirty: make(chan struct{}, 1), hurry: make(chan struct{}),
		statusStop: make(chan struct{}),
		pod:        pod,
	}
	w.sidecarCtx, w.sidecarCancel = context.WithCancel(ctx)
	waiting := "ContainerCreating"
	if len(pod.Spec.InitContainers) > 0 {
		waiting = "PodInitializing"
	}
	mk := func(c v1.Container, init bool) *ctr {
		x := &ctr{
			spec: c, init: init,
			sidecar:  init && c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways,
			termFile: filepath.Join(w.dir, "containers", c.Name, "termination-log"),
			killReq:  make(chan string, 1),
			started:  make(chan struct{}),
		}
		f := false
		x.status = v1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "", Started: &f,
			State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: waiting}},
		}
		return x
	}
	for _, c := range pod.Spec.InitContainers {
		w.inits = append(w.inits, mk(c, true))
	}
	for _, c := range pod.Spec.Containers {
		w.ctrs = append(w.ctrs, mk(c, false))
	}
	if mode != modeFresh {
		w.resumeFrom(pod)
	}
	return w
}

// resumeFrom carries over what an earlier agent reported: restart counts and
// start time (modeRestart, with the lost run as lastState) or everything
// (modeLost, where the lost containers become terminated).
func (w *podWorker) resumeFrom(pod *v1.Pod) {
	now := metaNow()
	old := map[string]v1.ContainerStatus{}
	for _, s := range append(append([]v1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		old[s.Name] = s
	}
	if pod.Status.StartTime != nil {
		w.startTime = *pod.Status.StartTime
	}
	lost := func(s v1.ContainerStatus) v1.ContainerState {
		t := &v1.ContainerStateTerminated{ExitCode: 137, Reason: "Error", Message: lostMessage, FinishedAt: now, ContainerID: s.ContainerID}
		if s.State.Running != nil {
			t.StartedAt = s.State.Running.StartedAt
		}
		return v1.ContainerState{Terminated: t}
	}
	for _, c := range append(append([]*ctr{}, w.inits...), w.ctrs...) {
		s, ok := old[c.spec.Name]
		if !ok {
			continue
		}
		if w.mode == modeLost {
			c.status = s
			c.status.Ready = false
			f := false
			c.status.Started = &f
			if s.State.Terminated == nil {
				c.status.State = lost(s)
			}
			continue
		}
		c.status.RestartCount = s.RestartCount
		c.status.LastTerminationState = s.LastTerminationState
		if s.State.Running != nil {
			c.status.RestartCount++
			c.status.LastTerminationState = lost(s)
		}
	}
	if w.mode == modeRestart && pod.Status.PodIP != "" {
		if ip, err := w.k.ips.allocate(pod.Status.PodIP); err == nil {
			w.podIP, w.ipFromPool = ip, true
		}
	}
}

// start runs the pod.
func (w *podWorker) start() {
	go w.statusLoop()
	go w.run()
}

// update takes a newer version of the pod from the watch.
func (w *podWorker) update(pod *v1.Pod) {
	w.mu.Lock()
	if newerRV(pod.ResourceVersion, w.pod.ResourceVersion) || pod.ResourceVersion == w.pod.ResourceVersion {
		w.pod = pod
	}
	finished := w.finished
	w.mu.Unlock()
	if finished {
		return
	}
	w.armDeadline()
	if pod.DeletionTimestamp != nil {
		w.requestStop(stopDeleted, gracePeriod(pod, true))
		w.startTerminate()
	}
	if len(pod.Spec.ReadinessGates) > 0 {
		w.markDirty() // a gate's condition may have changed
	}
}

// currentPod is the newest pod seen.
func (w *podWorker) currentPod() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

// gracePeriod is deletionGracePeriodSeconds for a deletion, else the pod's
// terminationGracePeriodSeconds (default 30 s).
func gracePeriod(pod *v1.Pod, deleting bool) time.Duration {
	if deleting && pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// requestStop stops the pod's containers (the first reason sticks; a shorter
// grace period wins).
func (w *podWorker) requestStop(kind stopKind, grace time.Duration) {
	w.mu.Lock()
	if w.stop == stopNone {
		w.stop, w.grace = kind, grace
	} else if grace < w.grace {
		w.grace = grace
	}
	if kind == stopGone || kind == stopShutdown {
		w.noWrites = true
	}
	if w.grace <= 0 && !w.hurried {
		w.hurried = true
		close(w.hurry)
	}
	w.mu.Unlock()
	w.cancel()
}

// gone: the pod left the API. Kill everything, clean up, forget the pod.
func (w *podWorker) gone() {
	w.requestStop(stopGone, 0)
	go func() {
		<-w.done
		w.stopStatus()
		w.k.removePodDir(w.uid)
		w.k.forget(w.uid)
	}()
}

// startTerminate runs the deletion once the containers have stopped: final
// status, delete with grace 0 and this UID as precondition, remove the folder.
func (w *podWorker) startTerminate() {
	w.mu.Lock()
	if w.terminating {
		w.mu.Unlock()
		return
	}
	w.terminating = true
	w.mu.Unlock()
	go func() {
		<-w.done
		w.mu.Lock()
		skip := w.noWrites
		w.mu.Unlock()
		if skip {
			return
		}
		w.flush()
		for attempt := 0; ; attempt++ {
			err := w.k.deletePod(w.currentPod())
			if err == nil {
				break
			}
			logf("%s/%s: delete: %v", w.ns, w.name, err)
			if attempt >= 10 || !sleepCtx(w.k.ctx, time.Duration(attempt+1)*time.Second) {
				return
			}
		}
		w.mu.Lock()
		w.finished = true
		w.mu.Unlock()
		w.stopStatus()
		w.k.removePodDir(w.uid)
	}()
}

// run is the pod's life until its containers stop for good.
func (w *podWorker) run() {
	defer close(w.done)
	if w.mode == modeLost {
		logf("%s/%s: containers lost with an earlier agent: Failed", w.ns, w.name)
		w.finish()
		return
	}
	w.mu.Lock()
	if w.startTime.IsZero() {
		w.startTime = metaNow()
	}
	w.mu.Unlock()
	w.armDeadline()
	w.markDirty()
	logf("%s/%s: starting (uid %s)", w.ns, w.name, w.uid)

	bo := newBackoff()
	lastErr := ""
	for w.ctx.Err() == nil {
		err := w.setupSandbox()
		if err == nil {
			break
		}
		if w.ctx.Err() != nil {
			break
		}
		if msg := err.Error(); msg != lastErr {
			lastErr = msg
			logf("%s/%s: %s", w.ns, w.name, msg)
			w.event(nil, v1.EventTypeWarning, "FailedMount", msg)
		}
		sleepCtx(w.ctx, bo.next(time.Now()))
	}
	if w.ctx.Err() == nil {
		go w.refreshTokens()
		if w.runInits() {
			w.runApps()
		}
	}
	w.sidecarCancel()
	w.sidecars.Wait()
	w.finish()
}

// setupSandbox prepares what the pod's containers share: folders, volumes,
// the pod IP, /etc/hosts and /etc/hostname.
func (w *podWorker) setupSandbox() error {
	pod := w.currentPod()
	for _, d := range []string{"volumes", "containers", "logs"} {
		if err := os.MkdirAll(filepath.Join(w.dir, d), 0o750); err != nil {
			return err
		}
	}
	if err := mkdirMode(filepath.Join(w.dir, "tmp"), 0o777|os.ModeSticky); err != nil {
		return err
	}
	vols, err := w.setupVolumes(w.ctx)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.volumes = vols
	ip := w.podIP
	w.mu.Unlock()
	if pod.Spec.HostNetwork {
		ip = w.k.node.hostIP()
	} else if ip == "" {
		if ip, err = w.k.ips.allocate(""); err != nil {
			return err
		}
		w.mu.Lock()
		w.podIP, w.ipFromPool = ip, true
		w.mu.Unlock()
	}
	hostname := podHostname(pod)
	if err := os.WriteFile(filepath.Join(w.dir, "etc-hosts"), []byte(hostsFile(pod, ip, hostname)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(w.dir, "etc-hostname"), []byte(hostname+"\n"), 0o644); err != nil {
		return err
	}
	w.mu.Lock()
	w.podIP = ip
	w.sandbox = true
	w.mu.Unlock()
	w.markDirty()
	return nil
}

// runInits runs the init containers in order; it reports whether the pod
// got initialized. Sidecars (restartPolicy Always) are started and left
// running once they count as started.
func (w *podWorker) runInits() bool {
	pod := w.currentPod()
	for _, c := range w.inits {
		if w.ctx.Err() != nil {
			return false
		}
		if c.sidecar {
			w.sidecars.Add(1)
			go func() {
				defer w.sidecars.Done()
				w.runContainer(w.sidecarCtx, c, func(int32) bool { return true })
			}()
			select {
			case <-c.started:
			case <-w.ctx.Done():
				return false
			}
			continue
		}
		exit := w.runContainer(w.ctx, c, func(code int32) bool {
			return code != 0 && pod.Spec.RestartPolicy != v1.RestartPolicyNever
		})
		if w.ctx.Err() != nil || exit != 0 {
			return false
		}
	}
	return true
}

// runApps runs the regular containers until none will restart.
func (w *podWorker) runApps() {
	pod := w.currentPod()
	var wg sync.WaitGroup
	for _, c := range w.ctrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.runContainer(w.ctx, c, func(code int32) bool {
				switch pod.Spec.RestartPolicy {
				case v1.RestartPolicyAlways:
					return true
				case v1.RestartPolicyOnFailure:
					return code != 0
				}
				return false
			})
		}()
	}
	wg.Wait()
}

// waitingError keeps a container waiting with a reason, as the kubelet's
// CreateContainerConfigError or ErrImagePull.
type waitingError struct{ reason, message string }

func (e *waitingError) Error() string { return e.reason + ": " + e.message }

// runContainer runs c again and again as should(exitCode) asks, with
// back-off, until it is done or ctx ends. It returns the last exit code (-1
// if it never ran).
func (w *podWorker) runContainer(ctx context.Context, c *ctr, should func(int32) bool) int32 {
	last := int32(-1)
	bo := newBackoff()
	lastMsg := ""
	for ctx.Err() == nil {
		spec, err := w.prepare(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var we *waitingError
			if !errors.As(err, &we) {
				we = &waitingError{"CreateContainerError", err.Error()}
			}
			w.setState(c, v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: we.reason, Message: we.message}})
			if we.message != lastMsg {
				lastMsg = we.message
				logf("%s/%s: container %s: %s", w.ns, w.name, c.spec.Name, we.Error())
				w.event(c, v1.EventTypeWarning, "Failed", "Error: "+we.message)
			}
			sleepCtx(ctx, bo.next(time.Now()))
			continue
		}
		last = w.runOnce(ctx, c, spec)
		if ctx.Err() != nil || !should(last) {
			break
		}
		d := bo.next(time.Now())
		w.mu.Lock()
		c.status.LastTerminationState = c.status.State
		c.status.RestartCount++
		c.status.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{
			Reason:  "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", d, c.spec.Name, w.name, w.ns, w.uid),
		}}
		w.mu.Unlock()
		w.markDirty()
		w.event(c, v1.EventTypeWarning, "BackOff", "Back-off restarting failed container "+c.spec.Name+" in pod "+w.name+"_"+w.ns+"("+string(w.uid)+")")
		if !sleepCtx(ctx, d) {
			break
		}
	}
	return last
}

// runOnce starts c once and waits for it to end (by itself, killed by a
// probe, the OOM annotation or the pod stopping). It returns the exit code.
func (w *podWorker) runOnce(ctx context.Context, c *ctr, spec *containerSpec) int32 {
	select { // a restart request from the previous run is stale
	case <-c.killReq:
	default:
	}
	w.mu.Lock()
	restart := c.status.RestartCount
	w.mu.Unlock()
	logDir := filepath.Join(w.dir, "logs", c.spec.Name)
	_ = os.MkdirAll(logDir, 0o750)
	logPath := filepath.Join(logDir, strconv.Itoa(int(restart))+".log")
	// The kubelet keeps the current and the previous log.
	_ = os.Remove(filepath.Join(logDir, strconv.Itoa(int(restart)-2)+".log"))
	lf, err := createLogFile(logPath)
	if err != nil {
		return w.startFailed(c, err.Error())
	}
	if err := os.MkdirAll(filepath.Dir(c.termFile), 0o755); err != nil {
		lf.close()
		return w.startFailed(c, err.Error())
	}
	if err := os.WriteFile(c.termFile, nil, 0o666); err != nil {
		lf.close()
		return w.startFailed(c, err.Error())
	}
	_ = os.Chmod(c.termFile, 0o666) // writable by any runAsUser
	w.mu.Lock()
	c.log = lf
	c.oom = false
	c.runSpec = spec
	w.mu.Unlock()
	w.event(c, v1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", c.spec.Image))
	w.event(c, v1.EventTypeNormal, "Created", "Created container: "+c.spec.Name)

	p, err := launch(spec, spec.Hostname != "", lf.pump)
	if err != nil {
		lf.close()
		logf("%s/%s: container %s: %v", w.ns, w.name, c.spec.Name, err)
		return w.startFailed(c, err.Error())
	}
	id := "nodeagent://" + randomHex(32)
	f := false
	w.mu.Lock()
	c.proc = p
	c.status.ContainerID = id
	c.status.Ready = false
	c.status.Started = &f
	c.status.State = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: metav1.NewTime(p.startedAt.Truncate(time.Second))}}
	w.mu.Unlock()
	w.markDirty()
	logf("%s/%s: container %s started (pid %d): %q", w.ns, w.name, c.spec.Name, p.pid, spec.Argv)
	w.event(c, v1.EventTypeNormal, "Started", "Started container "+c.spec.Name)

	runCtx, endRun := context.WithCancel(context.Background())
	defer endRun()
	go w.lifecycleAndProbes(runCtx, c, spec, p)
	oom := w.oomTimer(c)
	pod := w.currentPod()
	select {
	case <-p.done:
	case <-ctx.Done():
		grace := gracePeriod(pod, false)
		w.mu.Lock()
		if w.stop != stopNone {
			grace = w.grace
		}
		w.mu.Unlock()
		w.event(c, v1.EventTypeNormal, "Killing", "Stopping container "+c.spec.Name)
		w.stopProcess(c, p, grace)
	case msg := <-c.killReq:
		w.event(c, v1.EventTypeNormal, "Killing", msg)
		logf("%s/%s: %s", w.ns, w.name, msg)
		w.stopProcess(c, p, probeGrace(pod, c))
	case <-oom:
		w.mu.Lock()
		c.oom = true
		w.mu.Unlock()
		logf("%s/%s: container %s: OOM kill (annotation %s)", w.ns, w.name, c.spec.Name, annotationOOMKill)
		p.kill(syscall.SIGKILL)
	}
	endRun()
	<-p.done
	lf.close()
	exit, sig, finished := p.result()
	w.mu.Lock()
	oomKilled := c.oom
	w.mu.Unlock()
	reason := "Completed"
	switch {
	case oomKilled:
		reason = "OOMKilled"
	case exit != 0:
		reason = "Error"
	}
	msg := terminationMessage(c.termFile, logPath,
		c.spec.TerminationMessagePolicy == v1.TerminationMessageFallbackToLogsOnError, exit)
	w.mu.Lock()
	c.proc = nil
	c.status.Ready = c.init && !c.sidecar && exit == 0 // a completed init container is ready
	c.status.Started = &f
	c.status.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
		ExitCode: exit, Signal: sig, Reason: reason, Message: msg,
		StartedAt:   metav1.NewTime(p.startedAt.Truncate(time.Second)),
		FinishedAt:  metav1.NewTime(finished.Truncate(time.Second)),
		ContainerID: id,
	}}
	w.mu.Unlock()
	w.markDirty()
	logf("%s/%s: container %s exited %d (%s)", w.ns, w.name, c.spec.Name, exit, reason)
	return exit
}

// startFailed records a container that could not start: terminated, exit
// code 128, reason StartError, as containerd reports it.
func (w *podWorker) startFailed(c *ctr, msg string) int32 {
	now := metaNow()
	w.mu.Lock()
	c.status.Ready = false
	c.status.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
		ExitCode: 128, Reason: "StartError", Message: msg, StartedAt: metav1.Unix(0, 0), FinishedAt: now,
		ContainerID: "nodeagent://" + randomHex(32),
	}}
	w.mu.Unlock()
	w.markDirty()
	w.event(c, v1.EventTypeWarning, "Failed", "Error: "+msg)
	return 128
}

// stopProcess runs the preStop hook (within the grace period), then SIGTERM,
// then SIGKILL when the grace period is over or the pod is hurried.
func (w *podWorker) stopProcess(c *ctr, p *process, grace time.Duration) {
	start := time.Now()
	if c.spec.Lifecycle != nil && c.spec.Lifecycle.PreStop != nil && grace > 0 {
		hctx, cancel := context.WithTimeout(context.Background(), grace)
		go func() {
			select {
			case <-w.hurry:
				cancel()
			case <-p.done:
				cancel()
			case <-hctx.Done():
			}
		}()
		if err := w.runHandler(hctx, c, nil, c.spec.Lifecycle.PreStop); err != nil {
			w.event(c, v1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed: "+err.Error())
		}
		cancel()
	}
	// As the kubelet, leave at least 2 s after a hook.
	left := max(grace-time.Since(start), min(grace, 2*time.Second))
	p.stop(left, w.hurry)
}

// probeGrace is how long a container killed by a failed probe gets.
func probeGrace(pod *v1.Pod, c *ctr) time.Duration {
	for _, pr := range []*v1.Probe{c.spec.LivenessProbe, c.spec.StartupProbe} {
		if pr != nil && pr.TerminationGracePeriodSeconds != nil {
			return time.Duration(*pr.TerminationGracePeriodSeconds) * time.Second
		}
	}
	return gracePeriod(pod, false)
}

// oomTimer implements the OOM-on-demand annotations: the named container
// (or "*": every container; a comma-separated list works too) gets SIGKILL
// after oom-kill-after-seconds (default 0) and reports OOMKilled, 137.
func (w *podWorker) oomTimer(c *ctr) <-chan time.Time {
	pod := w.currentPod()
	which, ok := pod.Annotations[annotationOOMKill]
	if !ok {
		return nil
	}
	match := false
	for _, n := range strings.Split(which, ",") {
		if n = strings.TrimSpace(n); n == "*" || n == c.spec.Name {
			match = true
		}
	}
	if !match {
		return nil
	}
	after := 0.0
	if s := pod.Annotations[annotationOOMKillAfter]; s != "" {
		if v, err := strconv.ParseFloat(s, 64); err == nil && v > 0 {
			after = v
		}
	}
	return time.After(time.Duration(after * float64(time.Second)))
}

// armDeadline (re)arms activeDeadlineSeconds from the pod's start time.
func (w *podWorker) armDeadline() {
	w.mu.Lock()
	defer w.mu.Unlock()
	pod := w.pod
	if pod.Spec.ActiveDeadlineSeconds == nil || w.startTime.IsZero() || w.phase != "" || w.stop != stopNone {
		return
	}
	at := w.startTime.Add(time.Duration(*pod.Spec.ActiveDeadlineSeconds) * time.Second)
	if w.deadline != nil {
		if at.Equal(w.deadlineFor) {
			return
		}
		w.deadline.Stop()
	}
	w.deadlineFor = at
	w.deadline = time.AfterFunc(time.Until(at), func() {
		pod := w.currentPod()
		logf("%s/%s: active deadline of %ds exceeded", w.ns, w.name, *pod.Spec.ActiveDeadlineSeconds)
		w.event(nil, v1.EventTypeNormal, "DeadlineExceeded", deadlineMessage)
		w.requestStop(stopDeadline, gracePeriod(pod, false))
	})
}

// finish settles the pod's final phase once nothing runs, and writes it.
func (w *podWorker) finish() {
	now := metaNow()
	w.mu.Lock()
	if w.deadline != nil {
		w.deadline.Stop()
	}
	pod := w.pod
	switch {
	case w.mode == modeLost:
		w.phase = v1.PodFailed
	case w.stop == stopDeadline:
		w.phase, w.reason, w.message = v1.PodFailed, "DeadlineExceeded", deadlineMessage
	default:
		terminal := w.stop != stopNone || pod.DeletionTimestamp != nil
		if terminal {
			// As the kubelet's TerminatePod: containers that never ran are
			// reported terminated (once the pod got initialized).
			initialized := hasInitialized(w.inits)
			for _, c := range w.ctrs {
				if initialized && c.status.State.Terminated == nil {
					c.status.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
						ExitCode: 137, Reason: "ContainerStatusUnknown", FinishedAt: now,
						Message: "The container could not be located when the pod was terminated",
					}}
				}
			}
		}
		phase := podPhase(pod, w.inits, w.ctrs, terminal)
		if phase != v1.PodSucceeded && phase != v1.PodFailed {
			phase = v1.PodFailed
		}
		w.phase = phase
	}
	for _, c := range append(append([]*ctr{}, w.inits...), w.ctrs...) {
		if !c.init || c.sidecar { // a completed init container stays ready
			c.status.Ready = false
		}
	}
	noWrites := w.noWrites
	ip, fromPool := w.podIP, w.ipFromPool
	w.mu.Unlock()
	if fromPool {
		w.k.ips.release(ip)
	}
	if !noWrites {
		logf("%s/%s: %s", w.ns, w.name, w.phase)
		w.flush()
	}
}

func hasInitialized(inits []*ctr) bool {
	for _, c := range inits {
		if c.sidecar {
			continue
		}
		t := c.status.State.Terminated
		if t == nil || t.ExitCode != 0 {
			return false
		}
	}
	return true
}

// setState sets a container's state and marks the status dirty.
func (w *podWorker) setState(c *ctr, s v1.ContainerState) {
	w.mu.Lock()
	c.status.State = s
	w.mu.Unlock()
	w.markDirty()
}

// ipsForEnv returns the pod IPs and host IP as the downward API shows them.
func (w *podWorker) ipsForEnv() ([]string, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.podIP == "" {
		return nil, w.k.node.hostIP()
	}
	return []string{w.podIP}, w.k.node.hostIP()
}

// prepare computes how to start c now: image, environment, credentials and
// mounts. Errors are *waitingError.
func (w *podWorker) prepare(ctx context.Context, c *ctr) (*containerSpec, error) {
	pod := w.currentPod()
	image := c.spec.Image
	entry, mapped := w.k.cfg.Images.lookup(image)
	if len(c.spec.Command) == 0 && len(c.spec.Args) == 0 && !mapped {
		return nil, &waitingError{"ErrImagePull", fmt.Sprintf(
			"image %q is not in the node agent's image table (--image-map: %s), and without a command there is nothing to run",
			image, w.k.cfg.Images.names())}
	}
	var ep *imageEntry
	if mapped {
		ep = &entry
		if _, err := os.Stat(entry.Path); err != nil {
			return nil, &waitingError{"ErrImagePull", fmt.Sprintf(
				"image %q maps to %s in the node agent's image table, which is missing: %v", image, entry.Path, err)}
		}
	}
	id := imageID(image, ep)
	w.mu.Lock()
	c.status.ImageID = id
	w.mu.Unlock()

	podIPs, hostIP := w.ipsForEnv()
	env, err := resolveEnv(ctx, w.k, envContext{
		pod: pod, container: &c.spec, podIPs: podIPs, hostIP: hostIP,
		allocatable: w.k.node.allocatable(), serviceEnv: w.k.serviceEnv,
	})
	if err != nil {
		return nil, &waitingError{"CreateContainerConfigError", err.Error()}
	}
	rootfs := mapped && entry.Rootfs
	var defaults imageDefaults
	if rootfs {
		defaults.etc = filepath.Join(entry.Path, "etc")
		if defaults.uid, defaults.gid, err = imageUser(entry.Image.User, defaults.etc); err != nil {
			return nil, &waitingError{"CreateContainerConfigError", err.Error()}
		}
	}
	cred, err := credentialsFor(pod, &c.spec, defaults)
	if err != nil {
		return nil, &waitingError{"CreateContainerConfigError", err.Error()}
	}
	command := expandAll(c.spec.Command, env)
	args := expandAll(c.spec.Args, env)
	var argv []string
	if rootfs {
		// The image's ENTRYPOINT and CMD, as a runtime combines them with
		// command and args.
		argv = imageArgv(entry.Image, command, args)
	} else {
		if len(command) == 0 && mapped {
			command = []string{entry.Entry}
		}
		// An image from host tools with args only runs them, as an image
		// without an ENTRYPOINT (busybox, debian) would: `kubectl run
		// --image=busybox -- sleep 60` works.
		argv = append(append([]string{}, command...), args...)
	}

	hostname := podHostname(pod)
	var cenv []string
	for _, e := range env {
		cenv = append(cenv, e.Name+"="+e.Value)
	}
	if rootfs {
		cenv = mergeEnv(entry.Image.Env, cenv)
	}
	final := []string{"HOSTNAME=" + hostname}
	have := map[string]bool{}
	for _, kv := range cenv {
		final = append(final, kv)
		k, _, _ := strings.Cut(kv, "=")
		have[k] = true
	}
	if !have["PATH"] {
		final = append(final, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	if !have["HOME"] {
		final = append(final, "HOME="+cred.home)
	}

	w.mu.Lock()
	vols := w.volumes
	w.mu.Unlock()
	var mounts []mountSpec
	mounts = append(mounts, mountSpec{Source: filepath.Join(w.dir, "tmp"), Target: "/tmp", ReadOnly: cred.readOnlyRoot})
	if mapped && !rootfs {
		mounts = append(mounts, mountSpec{Source: entry.Path, Target: entry.Entry, ReadOnly: true})
	}
	if !pod.Spec.HostNetwork {
		mounts = append(mounts,
			mountSpec{Source: filepath.Join(w.dir, "etc-hosts"), Target: "/etc/hosts"},
			mountSpec{Source: filepath.Join(w.dir, "etc-hostname"), Target: "/etc/hostname"})
	}
	envMap := map[string]string{}
	for _, e := range env {
		envMap[e.Name] = e.Value
	}
	for _, vm := range c.spec.VolumeMounts {
		v := vols[vm.Name]
		if v == nil {
			return nil, &waitingError{"CreateContainerConfigError", fmt.Sprintf("cannot find volume %q to mount into container %q", vm.Name, c.spec.Name)}
		}
		src := v.path
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = expansion.Expand(vm.SubPathExpr, expansion.MappingFuncFor(envMap))
		}
		if sub != "" {
			if src, err = securejoin.SecureJoin(v.path, sub); err != nil {
				return nil, &waitingError{"CreateContainerConfigError", err.Error()}
			}
			if _, err := os.Stat(src); os.IsNotExist(err) {
				// The kubelet creates a missing subPath as a folder.
				if err := os.MkdirAll(src, 0o755); err != nil {
					return nil, &waitingError{"CreateContainerConfigError", fmt.Sprintf("failed to create subPath directory for volumeMount %q of container %q: %v", vm.Name, c.spec.Name, err)}
				}
			}
		}
		mounts = append(mounts, mountSpec{Source: src, Target: vm.MountPath, ReadOnly: vm.ReadOnly || v.readOnly})
	}
	tmp := c.spec.TerminationMessagePath
	if tmp == "" {
		tmp = "/dev/termination-log"
	}
	mounts = append(mounts, mountSpec{Source: c.termFile, Target: tmp})
	// As containerd: shallower mounts first, so none hides another.
	sort.SliceStable(mounts, func(i, j int) bool { return pathDepth(mounts[i].Target) < pathDepth(mounts[j].Target) })

	// Every run starts from an empty root, as a new container gets a fresh
	// writable layer. Nothing is mounted in it in our namespace: the mounts
	// lived in the last run's own namespace, gone with its processes.
	root := filepath.Join(w.dir, "containers", c.spec.Name, "root")
	if err := os.RemoveAll(root); err != nil {
		return nil, &waitingError{"CreateContainerError", err.Error()}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, &waitingError{"CreateContainerError", err.Error()}
	}
	spec := &containerSpec{
		Root: root, HostDirs: w.k.hostDirs, Mounts: mounts, ReadOnlyRoot: cred.readOnlyRoot,
		WorkingDir: c.spec.WorkingDir, Argv: argv, Env: final,
		UID: cred.uid, GID: cred.gid, Groups: cred.groups, SetGroups: cred.setGroups, NoNewPrivs: cred.noNewPrivs,
	}
	if rootfs {
		spec.HostDirs, spec.ImageRoot = nil, entry.Path
		if spec.WorkingDir == "" {
			spec.WorkingDir = entry.Image.WorkingDir
		}
	}
	if !pod.Spec.HostNetwork {
		spec.Hostname = hostname
	}
	return spec, nil
}

// podHostname is spec.hostname or the pod's name, at most 63 characters.
func podHostname(pod *v1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// hostsFile is the kubelet-managed /etc/hosts of a pod.
func hostsFile(pod *v1.Pod, ip, hostname string) string {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	if pod.Spec.Subdomain != "" {
		fqdn := hostname + "." + pod.Spec.Subdomain + "." + pod.Namespace + ".svc.cluster.local"
		fmt.Fprintf(&b, "%s\t%s\t%s\n", ip, fqdn, hostname)
	} else {
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.String()
}

// refreshTokens re-renders projected volumes before their service account
// tokens age (80 % of the lifetime), as the kubelet's token manager does.
func (w *podWorker) refreshTokens() {
	for {
		w.mu.Lock()
		var next *podVolume
		for _, v := range w.volumes {
			if v.render != nil && !v.refreshAt.IsZero() && (next == nil || v.refreshAt.Before(next.refreshAt)) {
				next = v
			}
		}
		w.mu.Unlock()
		if next == nil {
			return
		}
		if !sleepCtx(w.ctx, time.Until(next.refreshAt)) {
			return
		}
		at, err := next.render(w.ctx)
		w.mu.Lock()
		if err != nil {
			logf("%s/%s: refreshing volume %s: %v", w.ns, w.name, next.name, err)
			next.refreshAt = time.Now().Add(10 * time.Second)
		} else {
			logf("%s/%s: refreshed the token in volume %s", w.ns, w.name, next.name)
			next.refreshAt = at
		}
		w.mu.Unlock()
	}
}

// newerRV tells whether resourceVersion a is newer than b (they are etcd
// revisions; opaque by contract, so anything unparsable counts as newer).
func newerRV(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil {
		return true
	}
	return x > y
}

// metaNow is now, at the API's one-second resolution.
func metaNow() metav1.Time { return metav1.NewTime(time.Now().Truncate(time.Second)) }
