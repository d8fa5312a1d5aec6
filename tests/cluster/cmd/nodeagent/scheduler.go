package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// The scheduler half, with the scheduler's identity (system:kube-scheduler):
// every pending pod for the default scheduler is bound to our one node, in
// creation order, if it fits: nodeSelector and required node affinity must
// match, and the node's taints must be tolerated, except not-ready and
// unreachable (TaintNodesByCondition puts not-ready on every new Node and
// only the node-lifecycle controller, not run here, would remove it). A pod
// that does not fit stays Pending with PodScheduled=False, Unschedulable.

type scheduler struct {
	cs       kubernetes.Interface
	node     *nodeManager
	events   *eventRecorder
	informer cache.SharedIndexInformer
	kick     chan struct{}

	mu      sync.Mutex
	noted   map[types.UID]string // Unschedulable message already written
	pending map[types.UID]bool   // bound, not yet gone from the watch
}

func newScheduler(cs kubernetes.Interface, node *nodeManager, events *eventRecorder) *scheduler {
	s := &scheduler{cs: cs, node: node, events: events, kick: make(chan struct{}, 1),
		noted: map[types.UID]string{}, pending: map[types.UID]bool{}}
	lw := cache.NewFilteredListWatchFromClient(cs.CoreV1().RESTClient(), "pods", metav1.NamespaceAll, func(o *metav1.ListOptions) {
		o.FieldSelector = "spec.nodeName=,status.phase!=Succeeded,status.phase!=Failed"
	})
	s.informer = cache.NewSharedIndexInformer(lw, &v1.Pod{}, 5*time.Minute, cache.Indexers{})
	poke := func(any) { s.poke() }
	_, _ = s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    poke,
		UpdateFunc: func(_, o any) { s.poke() },
		DeleteFunc: func(o any) {
			if p, ok := o.(*v1.Pod); ok {
				s.mu.Lock()
				delete(s.noted, p.UID)
				delete(s.pending, p.UID)
				s.mu.Unlock()
			}
		},
	})
	return s
}

func (s *scheduler) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// run schedules until ctx ends: on every change, and every 10 s for pods
// that did not fit (the node's labels may have changed).
func (s *scheduler) run(ctx context.Context) {
	go s.informer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), s.informer.HasSynced) {
		return
	}
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		s.scheduleAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}

func (s *scheduler) scheduleAll(ctx context.Context) {
	var pods []*v1.Pod
	for _, o := range s.informer.GetStore().List() {
		p := o.(*v1.Pod)
		if p.Spec.NodeName != "" || p.DeletionTimestamp != nil || isTerminal(p) {
			continue
		}
		if p.Spec.SchedulerName != "" && p.Spec.SchedulerName != v1.DefaultSchedulerName {
			continue
		}
		pods = append(pods, p)
	}
	sort.Slice(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	node := s.node.current()
	if node == nil {
		return
	}
	for _, p := range pods {
		s.mu.Lock()
		done := s.pending[p.UID]
		s.mu.Unlock()
		if done || ctx.Err() != nil {
			continue
		}
		if msg := fits(p, node); msg != "" {
			s.unschedulable(ctx, p, msg)
			continue
		}
		s.bind(ctx, p, node.Name)
	}
}

// fits returns why pod cannot go to node, or "".
func fits(pod *v1.Pod, node *v1.Node) string {
	if ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !ok {
		return "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
	}
	taint, untolerated := corev1helpers.FindMatchingUntoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations, func(t *v1.Taint) bool {
		if t.Key == v1.TaintNodeNotReady || t.Key == v1.TaintNodeUnreachable {
			return false
		}
		return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
	})
	if untolerated {
		return fmt.Sprintf("0/1 nodes are available: 1 node(s) had untolerated taint {%s: %s}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.", taint.Key, taint.Value)
	}
	return ""
}

func (s *scheduler) bind(ctx context.Context, pod *v1.Pod, node string) {
	b := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: node},
	}
	err := s.cs.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		logf("%s/%s: binding: %v", pod.Namespace, pod.Name, err)
		return
	}
	s.mu.Lock()
	s.pending[pod.UID] = true
	s.mu.Unlock()
	if err == nil {
		logf("%s/%s: bound to %s", pod.Namespace, pod.Name, node)
		s.events.record(pod, "", v1.EventTypeNormal, "Scheduled",
			fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node))
	}
}

// unschedulable sets PodScheduled=False, reason Unschedulable, once per
// message (a strategic merge patch: other conditions stay).
func (s *scheduler) unschedulable(ctx context.Context, pod *v1.Pod, msg string) {
	s.mu.Lock()
	same := s.noted[pod.UID] == msg
	s.mu.Unlock()
	if same {
		return
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable && c.Message == msg {
			s.mu.Lock()
			s.noted[pod.UID] = msg
			s.mu.Unlock()
			return
		}
	}
	patch := fmt.Sprintf(`{"status":{"conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":%q,"lastTransitionTime":%q,"lastProbeTime":null}]}}`,
		msg, time.Now().UTC().Format(time.RFC3339))
	_, err := s.cs.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	if err != nil {
		logf("%s/%s: marking unschedulable: %v", pod.Namespace, pod.Name, err)
		return
	}
	logf("%s/%s: unschedulable: %s", pod.Namespace, pod.Name, msg)
	s.events.record(pod, "", v1.EventTypeWarning, "FailedScheduling", msg)
	s.mu.Lock()
	s.noted[pod.UID] = msg
	s.mu.Unlock()
}
