package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// The kubelet half: watch the pods bound to this node (with the node's own
// identity, so the Node authorizer and NodeRestriction judge every request
// as they would a kubelet's) and run each in a podWorker.

type kubelet struct {
	cfg        *config
	cs         kubernetes.Interface // node identity
	node       *nodeManager
	events     *eventRecorder
	serviceEnv map[string]string // KUBERNETES_SERVICE_HOST and friends
	hostDirs   []string          // host folders bound read-only into every container root
	ips        *ipAllocator
	informer   cache.SharedIndexInformer
	ctx        context.Context // the agent's life

	mu       sync.Mutex
	workers  map[types.UID]*podWorker
	shutdown bool
}

func newKubelet(ctx context.Context, cfg *config, cs kubernetes.Interface, node *nodeManager, events *eventRecorder, server string) (*kubelet, error) {
	svcEnv, err := serviceEnvFor(server)
	if err != nil {
		return nil, fmt.Errorf("apiserver address %q: %w", server, err)
	}
	ips, err := newIPAllocator(cfg.PodCIDR)
	if err != nil {
		return nil, err
	}
	k := &kubelet{
		cfg: cfg, cs: cs, node: node, events: events, serviceEnv: svcEnv, ips: ips, ctx: ctx,
		workers: map[types.UID]*podWorker{},
	}
	for _, d := range []string{"/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		if _, err := os.Lstat(d); err == nil {
			k.hostDirs = append(k.hostDirs, d)
		}
	}
	lw := cache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "pods", metav1.NamespaceAll,
		fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName))
	k.informer = cache.NewSharedIndexInformer(lw, &v1.Pod{}, 5*time.Minute, cache.Indexers{
		"nsname": func(obj any) ([]string, error) {
			p := obj.(*v1.Pod)
			return []string{p.Namespace + "/" + p.Name}, nil
		},
	})
	_, err = k.informer.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    func(obj any, initial bool) { k.onPod(obj.(*v1.Pod), initial) },
		UpdateFunc: func(_, obj any) { k.onPod(obj.(*v1.Pod), false) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*v1.Pod); ok {
				k.onPodGone(p)
			}
		},
	})
	return k, err
}

// run starts the pod watch and returns once its first list was handled.
func (k *kubelet) run(ctx context.Context) error {
	if err := os.MkdirAll(k.cfg.RootDir, 0o755); err != nil {
		return err
	}
	killStrays(k.cfg.RootDir)
	go k.informer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), k.informer.HasSynced) {
		return fmt.Errorf("pod watch did not sync")
	}
	k.cleanOrphanDirs()
	return nil
}

// onPod handles a pod bound to this node being seen or changed. initial
// marks pods of the first list: running ones were started by an earlier
// agent whose processes died with it.
func (k *kubelet) onPod(pod *v1.Pod, initial bool) {
	k.mu.Lock()
	if k.shutdown {
		k.mu.Unlock()
		return
	}
	w := k.workers[pod.UID]
	if w == nil {
		if isTerminal(pod) {
			k.mu.Unlock()
			if pod.DeletionTimestamp != nil {
				go k.deleteFinished(pod)
			}
			return
		}
		mode := modeFresh
		if initial && wasStarted(pod) {
			mode = modeLost
			if pod.Spec.RestartPolicy == v1.RestartPolicyAlways && pod.DeletionTimestamp == nil {
				mode = modeRestart
			}
		}
		w = newPodWorker(k, pod, mode)
		k.workers[pod.UID] = w
		k.mu.Unlock()
		w.start()
	} else {
		k.mu.Unlock()
	}
	w.update(pod)
}

// onPodGone: the pod is no longer in the API (deleted with grace 0 by us or
// forcibly by someone): kill whatever still runs, and clean up.
func (k *kubelet) onPodGone(pod *v1.Pod) {
	k.mu.Lock()
	w := k.workers[pod.UID]
	k.mu.Unlock()
	if w == nil {
		k.removePodDir(pod.UID)
		return
	}
	w.gone()
}

// forget drops a finished worker.
func (k *kubelet) forget(uid types.UID) {
	k.mu.Lock()
	delete(k.workers, uid)
	k.mu.Unlock()
}

// deleteFinished deletes a terminal pod we do not run (grace 0: nothing to
// stop) and removes its folder.
func (k *kubelet) deleteFinished(pod *v1.Pod) {
	if err := k.deletePod(pod); err != nil {
		logf("%s/%s: delete: %v", pod.Namespace, pod.Name, err)
		return
	}
	k.removePodDir(pod.UID)
}

// deletePod is the kubelet's final delete: grace 0, only this incarnation.
func (k *kubelet) deletePod(pod *v1.Pod) error {
	zero := int64(0)
	uid := pod.UID
	err := k.cs.CoreV1().Pods(pod.Namespace).Delete(k.ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		logf("%s/%s: deleted", pod.Namespace, pod.Name)
		return nil
	}
	return err
}

// workerByName finds the worker of the newest pod ns/name, for the log API.
func (k *kubelet) workerByName(ns, name string) (*podWorker, *v1.Pod) {
	objs, _ := k.informer.GetIndexer().ByIndex("nsname", ns+"/"+name)
	var pod *v1.Pod
	for _, o := range objs {
		p := o.(*v1.Pod)
		if pod == nil || p.CreationTimestamp.After(pod.CreationTimestamp.Time) {
			pod = p
		}
	}
	if pod == nil {
		return nil, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.workers[pod.UID], pod
}

// stopAll is the agent's shutdown: every container gets SIGTERM, then SIGKILL
// after 2 s; no status is written (a restarted agent reports them lost).
func (k *kubelet) stopAll() {
	k.mu.Lock()
	k.shutdown = true
	ws := make([]*podWorker, 0, len(k.workers))
	for _, w := range k.workers {
		ws = append(ws, w)
	}
	k.mu.Unlock()
	for _, w := range ws {
		w.requestStop(stopShutdown, 2*time.Second)
	}
	deadline := time.After(5 * time.Second)
	for _, w := range ws {
		select {
		case <-w.done:
		case <-deadline:
			return
		}
	}
}

// podDir is --root-dir/<uid>.
func (k *kubelet) podDir(uid types.UID) string { return filepath.Join(k.cfg.RootDir, string(uid)) }

// removePodDir removes a pod's folder, unless something is mounted below it
// in our own mount namespace (never the case by design; checked anyway, as
// RemoveAll would otherwise walk into a bind of the host's /usr).
func (k *kubelet) removePodDir(uid types.UID) {
	dir := k.podDir(uid)
	if _, err := os.Lstat(dir); err != nil {
		return
	}
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
				logf("not removing %s: %s is mounted", dir, f[4])
				return
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		logf("removing %s: %v", dir, err)
	}
}

// cleanOrphanDirs removes folders of pods that no longer exist.
func (k *kubelet) cleanOrphanDirs() {
	entries, err := os.ReadDir(k.cfg.RootDir)
	if err != nil {
		return
	}
	known := map[string]bool{}
	for _, o := range k.informer.GetStore().List() {
		known[string(o.(*v1.Pod).UID)] = true
	}
	for _, e := range entries {
		if e.IsDir() && !known[e.Name()] && len(e.Name()) == 36 && strings.Count(e.Name(), "-") == 4 {
			k.removePodDir(types.UID(e.Name()))
		}
	}
}

// Reads with the node identity. The Node authorizer lets a node read a
// Secret, ConfigMap or PVC only once its graph links them to a pod bound to
// the node; the graph follows the API a little behind the watch we saw the
// pod on, so a Forbidden is retried for a while, as the kubelet's own retries
// would.

func (k *kubelet) getSecret(ctx context.Context, ns, name string) (*v1.Secret, error) {
	var s *v1.Secret
	err := retryForbidden(ctx, func() error {
		var err error
		s, err = k.cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(v1.Resource("secret"), name)
	}
	return s, err
}

func (k *kubelet) getConfigMap(ctx context.Context, ns, name string) (*v1.ConfigMap, error) {
	var m *v1.ConfigMap
	err := retryForbidden(ctx, func() error {
		var err error
		m, err = k.cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(v1.Resource("configmap"), name)
	}
	return m, err
}

func (k *kubelet) getPVC(ctx context.Context, ns, name string) (*v1.PersistentVolumeClaim, error) {
	var c *v1.PersistentVolumeClaim
	err := retryForbidden(ctx, func() error {
		var err error
		c, err = k.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(v1.Resource("persistentvolumeclaim"), name)
	}
	return c, err
}

// retryForbidden retries f while it is Forbidden, for up to about 10 s.
func retryForbidden(ctx context.Context, f func() error) error {
	delay := 100 * time.Millisecond
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			return err
		}
		if !sleepCtx(ctx, delay) {
			return err
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// ipAllocator hands out pod IPs from --pod-cidr. All pods share the host's
// network namespace; a distinct loopback address each is what keeps their
// listeners apart (everything in 127.0.0.0/8 routes to lo on Linux).
type ipAllocator struct {
	mu    sync.Mutex
	first uint32
	last  uint32
	used  map[uint32]bool
}

func newIPAllocator(cidr string) (*ipAllocator, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, err
	}
	ones, bits := n.Mask.Size()
	base := binary.BigEndian.Uint32(n.IP.To4())
	size := uint32(1) << uint(bits-ones)
	a := &ipAllocator{first: base, last: base + size - 1, used: map[uint32]bool{}}
	if size > 2 { // skip the network and broadcast addresses
		a.first++
		a.last--
	}
	return a, nil
}

// allocate returns prefer if it is free and in range, else the lowest free
// address (never 127.0.0.1, the node's own).
func (a *ipAllocator) allocate(prefer string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ip := net.ParseIP(prefer).To4(); ip != nil {
		n := binary.BigEndian.Uint32(ip)
		if n >= a.first && n <= a.last && !a.used[n] {
			a.used[n] = true
			return prefer, nil
		}
	}
	for n := a.first; n <= a.last && n >= a.first; n++ {
		if !a.used[n] && n != 0x7f000001 {
			a.used[n] = true
			return toIP(n), nil
		}
	}
	return "", fmt.Errorf("no pod IP left in the pod CIDR")
}

func (a *ipAllocator) release(ip string) {
	if v4 := net.ParseIP(ip).To4(); v4 != nil {
		a.mu.Lock()
		delete(a.used, binary.BigEndian.Uint32(v4))
		a.mu.Unlock()
	}
}

func toIP(n uint32) string {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, n)
	return net.IP(b).String()
}

func isTerminal(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed
}

// wasStarted tells whether some container of the pod ever ran.
func wasStarted(pod *v1.Pod) bool {
	for _, list := range [][]v1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, s := range list {
			if s.State.Running != nil || s.State.Terminated != nil || s.LastTerminationState.Terminated != nil {
				return true
			}
		}
	}
	return false
}
