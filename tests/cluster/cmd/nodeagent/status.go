package main

import (
	"fmt"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod status as the kubelet writes it (pkg/kubelet/kubelet_pods.go
// generateAPIPodStatus and getPhase, pkg/kubelet/status/generate.go),
// through the status subresource with the node's identity.

// markDirty asks the status loop for a write.
func (w *podWorker) markDirty() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

// statusLoop writes the status whenever it is marked dirty; writes coalesce.
func (w *podWorker) statusLoop() {
	for {
		select {
		case <-w.dirty:
			w.flush()
		case <-w.statusStop:
			return
		}
	}
}

func (w *podWorker) stopStatus() {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.statusStop:
	default:
		close(w.statusStop)
	}
}

// flush writes the current status now (if it changed), retrying conflicts
// with a fresh copy of the pod.
func (w *podWorker) flush() {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	pods := w.k.cs.CoreV1().Pods(w.ns)
	pod := w.currentPod()
	for attempt := 0; attempt < 10; attempt++ {
		w.mu.Lock()
		skip := w.noWrites || w.finished
		w.mu.Unlock()
		if skip {
			return
		}
		status := w.buildStatus(pod)
		if apiequality.Semantic.DeepEqual(pod.Status, status) {
			return
		}
		np := pod.DeepCopy()
		np.Status = status
		out, err := pods.UpdateStatus(w.k.ctx, np, metav1.UpdateOptions{})
		if err == nil {
			w.mu.Lock()
			if newerRV(out.ResourceVersion, w.pod.ResourceVersion) {
				w.pod = out
			}
			w.mu.Unlock()
			return
		}
		if apierrors.IsNotFound(err) || w.k.ctx.Err() != nil {
			return
		}
		if !apierrors.IsConflict(err) {
			logf("%s/%s: status update: %v", w.ns, w.name, err)
			if !sleepCtx(w.k.ctx, time.Duration(attempt+1)*200*time.Millisecond) {
				return
			}
		}
		fresh, err := pods.Get(w.k.ctx, w.name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return
			}
			continue
		}
		if fresh.UID != w.uid {
			return
		}
		pod = fresh
	}
}

// buildStatus computes the pod's status from the worker's state, on top of
// old (whose fields the kubelet does not own are kept).
func (w *podWorker) buildStatus(old *v1.Pod) v1.PodStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := metaNow()
	s := *old.Status.DeepCopy()
	hostIP := w.k.node.hostIP()
	s.HostIP = hostIP
	s.HostIPs = []v1.HostIP{{IP: hostIP}}
	if w.podIP != "" {
		s.PodIP = w.podIP
		s.PodIPs = []v1.PodIP{{IP: w.podIP}}
	}
	if !w.startTime.IsZero() {
		st := w.startTime
		s.StartTime = &st
	}
	s.InitContainerStatuses = statusesOf(w.inits)
	s.ContainerStatuses = statusesOf(w.ctrs)
	s.ObservedGeneration = old.Generation

	phase := w.phase
	if phase == "" {
		phase = podPhase(old, w.inits, w.ctrs, false)
	}
	if isTerminal(old) { // pods never leave a terminal phase
		phase = old.Status.Phase
	}
	if phase != old.Status.Phase || w.reason != "" {
		s.Reason, s.Message = w.reason, w.message
	}
	s.Phase = phase

	terminal := phase == v1.PodSucceeded || phase == v1.PodFailed
	sandbox := w.sandbox && !terminal
	ours := []v1.PodCondition{
		condition(v1.PodReadyToStartContainers, sandbox, "", ""),
		initializedCondition(old, w.inits, w.ctrs, phase),
	}
	cr := containersReadyCondition(old, w.inits, w.ctrs, phase)
	ours = append(ours, podReadyCondition(old, cr, phase), cr, condition(v1.PodScheduled, true, "", ""))
	s.Conditions = mergeConditions(old.Status.Conditions, ours, old.Generation, now)
	return s
}

func statusesOf(cs []*ctr) []v1.ContainerStatus {
	if len(cs) == 0 {
		return nil
	}
	out := make([]v1.ContainerStatus, len(cs))
	for i, c := range cs {
		out[i] = *c.status.DeepCopy()
	}
	return out
}

func condition(t v1.PodConditionType, ok bool, reason, msg string) v1.PodCondition {
	st := v1.ConditionFalse
	if ok {
		st = v1.ConditionTrue
	}
	return v1.PodCondition{Type: t, Status: st, Reason: reason, Message: msg}
}

// mergeConditions keeps conditions owned by others (and the transition time
// of ours whose status did not change).
func mergeConditions(old, ours []v1.PodCondition, gen int64, now metav1.Time) []v1.PodCondition {
	mine := map[v1.PodConditionType]bool{}
	for _, c := range ours {
		mine[c.Type] = true
	}
	var out []v1.PodCondition
	for _, c := range old {
		if !mine[c.Type] {
			out = append(out, c)
		}
	}
	for _, c := range ours {
		c.LastTransitionTime = now
		c.ObservedGeneration = gen
		for _, o := range old {
			if o.Type == c.Type {
				c.LastProbeTime = o.LastProbeTime
				if o.Status == c.Status {
					c.LastTransitionTime = o.LastTransitionTime
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// podPhase is the kubelet's getPhase (without the alpha ContainerRestartRules).
func podPhase(pod *v1.Pod, inits, ctrs []*ctr, podIsTerminal bool) v1.PodPhase {
	pendingInit, failedInit, pendingSidecar := 0, 0, 0
	unknown, running, waiting, stopped, succeeded := 0, 0, 0, 0, 0
	for _, c := range inits {
		s := c.status.State
		if c.sidecar {
			switch {
			case s.Running != nil:
				if c.status.Started == nil || !*c.status.Started {
					pendingSidecar++
				}
				running++
			case s.Terminated != nil:
			case s.Waiting != nil:
				if c.status.LastTerminationState.Terminated == nil {
					pendingSidecar++
					waiting++
				}
			default:
				pendingSidecar++
				unknown++
			}
			continue
		}
		switch {
		case s.Running != nil:
			pendingInit++
		case s.Terminated != nil:
			if s.Terminated.ExitCode != 0 {
				failedInit++
			}
		case s.Waiting != nil:
			if t := c.status.LastTerminationState.Terminated; t != nil {
				if t.ExitCode != 0 {
					failedInit++
				}
			} else {
				pendingInit++
			}
		default:
			pendingInit++
		}
	}
	started := false
	for _, c := range ctrs {
		s := c.status.State
		switch {
		case s.Running != nil:
			running++
			started = true
		case s.Terminated != nil:
			stopped++
			started = true
			if s.Terminated.ExitCode == 0 {
				succeeded++
			}
		case s.Waiting != nil:
			if c.status.LastTerminationState.Terminated != nil {
				stopped++
				started = true
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}
	if failedInit > 0 && pod.Spec.RestartPolicy == v1.RestartPolicyNever {
		return v1.PodFailed
	}
	switch {
	case pendingInit > 0 || (pendingSidecar > 0 && !started), waiting > 0:
		return v1.PodPending
	case running > 0 && unknown == 0:
		return v1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if podIsTerminal {
			if stopped == succeeded {
				return v1.PodSucceeded
			}
			return v1.PodFailed
		}
		if pod.Spec.RestartPolicy == v1.RestartPolicyAlways {
			return v1.PodRunning
		}
		if stopped == succeeded {
			return v1.PodSucceeded
		}
		if pod.Spec.RestartPolicy == v1.RestartPolicyNever {
			return v1.PodFailed
		}
		return v1.PodRunning
	}
	return v1.PodPending
}

// containersReadyCondition is GenerateContainersReadyCondition.
func containersReadyCondition(pod *v1.Pod, inits, ctrs []*ctr, phase v1.PodPhase) v1.PodCondition {
	if phase == v1.PodSucceeded {
		return condition(v1.ContainersReady, false, "PodCompleted", "")
	}
	if phase == v1.PodFailed {
		return condition(v1.ContainersReady, false, "PodFailed", "")
	}
	var unready []string
	for _, c := range inits {
		if c.sidecar && !c.status.Ready {
			unready = append(unready, c.spec.Name)
		}
	}
	for _, c := range ctrs {
		if !c.status.Ready {
			unready = append(unready, c.spec.Name)
		}
	}
	if len(unready) > 0 {
		return condition(v1.ContainersReady, false, "ContainersNotReady",
			fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " ")))
	}
	return condition(v1.ContainersReady, true, "", "")
}

// podReadyCondition is GeneratePodReadyCondition, readiness gates included.
func podReadyCondition(pod *v1.Pod, cr v1.PodCondition, phase v1.PodPhase) v1.PodCondition {
	if cr.Status != v1.ConditionTrue {
		return v1.PodCondition{Type: v1.PodReady, Status: cr.Status, Reason: cr.Reason, Message: cr.Message}
	}
	var msgs []string
	for _, rg := range pod.Spec.ReadinessGates {
		var c *v1.PodCondition
		for i := range pod.Status.Conditions {
			if pod.Status.Conditions[i].Type == rg.ConditionType {
				c = &pod.Status.Conditions[i]
			}
		}
		if c == nil {
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(rg.ConditionType)))
		} else if c.Status != v1.ConditionTrue {
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(rg.ConditionType), c.Status))
		}
	}
	if len(msgs) > 0 {
		return condition(v1.PodReady, false, "ReadinessGatesNotReady", strings.Join(msgs, ", "))
	}
	return condition(v1.PodReady, true, "", "")
}

// initializedCondition is GeneratePodInitializedCondition.
func initializedCondition(pod *v1.Pod, inits, ctrs []*ctr, phase v1.PodPhase) v1.PodCondition {
	if phase == v1.PodSucceeded {
		return condition(v1.PodInitialized, true, "PodCompleted", "")
	}
	for _, c := range ctrs {
		if c.status.State.Running != nil || c.status.State.Terminated != nil || c.status.LastTerminationState.Terminated != nil {
			return condition(v1.PodInitialized, true, "", "")
		}
	}
	var incomplete []string
	for _, c := range inits {
		done := false
		if c.sidecar {
			done = c.status.Started != nil && *c.status.Started
		} else {
			done = c.status.Ready
		}
		if !done {
			incomplete = append(incomplete, c.spec.Name)
		}
	}
	if len(incomplete) > 0 {
		return condition(v1.PodInitialized, false, "ContainersNotInitialized",
			fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " ")))
	}
	return condition(v1.PodInitialized, true, "", "")
}
