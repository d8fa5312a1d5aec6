package main

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Events like the kubelet's and the scheduler's (Scheduled, Pulled, Created,
// Started, Killing, BackOff, Unhealthy, FailedMount...), so `kubectl
// describe pod` reads as usual. Best effort: sent from a queue, dropped when
// it is full, failures only logged.

type eventRecorder struct {
	cs        kubernetes.Interface
	component string // "kubelet" or "default-scheduler"
	host      string
	queue     chan *v1.Event
}

func newEventRecorder(ctx context.Context, cs kubernetes.Interface, component, host string) *eventRecorder {
	r := &eventRecorder{cs: cs, component: component, host: host, queue: make(chan *v1.Event, 256)}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-r.queue:
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := r.cs.CoreV1().Events(e.Namespace).Create(cctx, e, metav1.CreateOptions{})
				// A namespace being deleted refuses new events: expected.
				if err != nil && ctx.Err() == nil && !apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) && !apierrors.IsNotFound(err) {
					logf("event %s for %s/%s: %v", e.Reason, e.Namespace, e.InvolvedObject.Name, err)
				}
				cancel()
			}
		}
	}()
	return r
}

// record queues an event about pod (and a container of it, if fieldPath is
// set).
func (r *eventRecorder) record(pod *v1.Pod, fieldPath, typ, reason, msg string) {
	if r == nil {
		return
	}
	now := metav1.Now()
	e := &v1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", pod.Name, time.Now().UnixNano()),
			Namespace: pod.Namespace,
		},
		InvolvedObject: v1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
			ResourceVersion: pod.ResourceVersion, FieldPath: fieldPath,
		},
		Reason: reason, Message: msg, Type: typ,
		Source:         v1.EventSource{Component: r.component, Host: r.host},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: r.component, ReportingInstance: r.host,
	}
	if r.component != "kubelet" {
		e.Source.Host = ""
		e.ReportingInstance = r.component
	}
	select {
	case r.queue <- e:
	default:
	}
}

// event records an event about the worker's pod, or one of its containers.
func (w *podWorker) event(c *ctr, typ, reason, msg string) {
	fp := ""
	if c != nil {
		list := "containers"
		if c.init {
			list = "initContainers"
		}
		fp = "spec." + list + "{" + c.spec.Name + "}"
	}
	w.k.events.record(w.currentPod(), fp, typ, reason, msg)
}
