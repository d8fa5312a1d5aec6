package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The Node object: registered (or updated, after an agent restart) with the
// node's identity, its status and its Lease in kube-node-lease renewed every
// 10 s, as the kubelet's node status and lease controllers do.

const (
	kubeletVersion    = "v1.34.4"
	heartbeatInterval = 10 * time.Second
	leaseDuration     = 40 // seconds, the kubelet's default
)

type nodeManager struct {
	cs   kubernetes.Interface
	cfg  *config
	info v1.NodeSystemInfo
	cap  v1.ResourceList

	mu   sync.Mutex
	node *v1.Node // as last read or written
}

func newNodeManager(cs kubernetes.Interface, cfg *config) *nodeManager {
	n := &nodeManager{cs: cs, cfg: cfg}
	n.cap = v1.ResourceList{
		v1.ResourceCPU:              *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		v1.ResourceMemory:           *resource.NewQuantity(memTotal(), resource.BinarySI),
		v1.ResourcePods:             *resource.NewQuantity(110, resource.DecimalSI),
		v1.ResourceEphemeralStorage: *resource.NewQuantity(diskTotal(cfg.RootDir), resource.BinarySI),
		"hugepages-1Gi":             *resource.NewQuantity(0, resource.BinarySI),
		"hugepages-2Mi":             *resource.NewQuantity(0, resource.BinarySI),
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	machineID := readTrim("/etc/machine-id")
	if machineID == "" {
		machineID = readTrim("/var/lib/dbus/machine-id")
	}
	systemUUID := readTrim("/sys/class/dmi/id/product_uuid")
	if systemUUID == "" {
		systemUUID = machineID
	}
	n.info = v1.NodeSystemInfo{
		MachineID:               machineID,
		SystemUUID:              systemUUID,
		BootID:                  readTrim("/proc/sys/kernel/random/boot_id"),
		KernelVersion:           unix.ByteSliceToString(uts.Release[:]),
		OSImage:                 osImage(),
		ContainerRuntimeVersion: "nodeagent://" + kubeletVersion,
		KubeletVersion:          kubeletVersion,
		OperatingSystem:         runtime.GOOS,
		Architecture:            runtime.GOARCH,
	}
	return n
}

// hostIP is the node's InternalIP: pods share the host's network.
func (n *nodeManager) hostIP() string { return "127.0.0.1" }

// allocatable is the same as capacity: nothing is reserved here.
func (n *nodeManager) allocatable() v1.ResourceList { return n.cap.DeepCopy() }

// current is the Node as last seen.
func (n *nodeManager) current() *v1.Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.node
}

func (n *nodeManager) labels() map[string]string {
	return map[string]string{
		"kubernetes.io/hostname":  n.cfg.NodeName,
		"kubernetes.io/os":        runtime.GOOS,
		"kubernetes.io/arch":      runtime.GOARCH,
		"beta.kubernetes.io/os":   runtime.GOOS,
		"beta.kubernetes.io/arch": runtime.GOARCH,
	}
}

// register creates the Node, or updates the one an earlier agent created,
// then posts a Ready status and the Lease. It retries until ctx ends.
func (n *nodeManager) register(ctx context.Context) error {
	nodes := n.cs.CoreV1().Nodes()
	for attempt := 0; ; attempt++ {
		err := func() error {
			node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.cfg.NodeName, Labels: n.labels()}}
			node.Status = n.status(nil)
			created, err := nodes.Create(ctx, node, metav1.CreateOptions{})
			if err == nil {
				logf("node %s registered", n.cfg.NodeName)
				n.setNode(created)
				return n.updateStatus(ctx)
			}
			if !apierrors.IsAlreadyExists(err) {
				return err
			}
			existing, err := nodes.Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			changed := false
			if existing.Labels == nil {
				existing.Labels = map[string]string{}
			}
			for k, v := range n.labels() {
				if existing.Labels[k] != v {
					existing.Labels[k] = v
					changed = true
				}
			}
			if changed {
				if existing, err = nodes.Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
					return err
				}
			}
			logf("node %s exists: updating it", n.cfg.NodeName)
			n.setNode(existing)
			return n.updateStatus(ctx)
		}()
		if err == nil {
			return n.renewLease(ctx)
		}
		logf("registering node %s: %v", n.cfg.NodeName, err)
		if !sleepCtx(ctx, time.Duration(min(attempt+1, 5))*time.Second) {
			return ctx.Err()
		}
	}
}

// heartbeat posts the node status and renews the Lease every 10 s.
func (n *nodeManager) heartbeat(ctx context.Context) {
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := n.updateStatus(ctx); err != nil && ctx.Err() == nil {
			logf("node status: %v", err)
		}
		if err := n.renewLease(ctx); err != nil && ctx.Err() == nil {
			logf("node lease: %v", err)
		}
	}
}

func (n *nodeManager) setNode(node *v1.Node) {
	n.mu.Lock()
	n.node = node
	n.mu.Unlock()
}

// updateStatus writes the node status (a fresh read on conflict).
func (n *nodeManager) updateStatus(ctx context.Context) error {
	nodes := n.cs.CoreV1().Nodes()
	node := n.current()
	for attempt := 0; attempt < 5; attempt++ {
		if node == nil {
			var err error
			if node, err = nodes.Get(ctx, n.cfg.NodeName, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		nn := node.DeepCopy()
		nn.Status = n.status(&node.Status)
		out, err := nodes.UpdateStatus(ctx, nn, metav1.UpdateOptions{})
		if err == nil {
			n.setNode(out)
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return err
		}
		if apierrors.IsNotFound(err) { // deleted under us: register again
			created, cerr := nodes.Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.cfg.NodeName, Labels: n.labels()}, Status: n.status(nil)}, metav1.CreateOptions{})
			if cerr != nil {
				return cerr
			}
			n.setNode(created)
		}
		node = nil
	}
	return fmt.Errorf("node status: too many conflicts")
}

// status is the node status now; old keeps condition transition times.
func (n *nodeManager) status(old *v1.NodeStatus) v1.NodeStatus {
	now := metav1.Now()
	conds := []v1.NodeCondition{
		{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: v1.NodePIDPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
	}
	for i := range conds {
		conds[i].LastHeartbeatTime = now
		conds[i].LastTransitionTime = now
		if old != nil {
			for _, o := range old.Conditions {
				if o.Type == conds[i].Type && o.Status == conds[i].Status {
					conds[i].LastTransitionTime = o.LastTransitionTime
				}
			}
		}
	}
	s := v1.NodeStatus{}
	if old != nil {
		s = *old.DeepCopy()
	}
	s.Capacity = n.cap.DeepCopy()
	s.Allocatable = n.allocatable()
	s.Phase = ""
	s.Conditions = conds
	s.Addresses = []v1.NodeAddress{
		{Type: v1.NodeInternalIP, Address: n.hostIP()},
		{Type: v1.NodeHostName, Address: n.cfg.NodeName},
	}
	s.DaemonEndpoints = v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: int32(n.cfg.KubeletPort)}}
	s.NodeInfo = n.info
	return s
}

// renewLease keeps the node's Lease in kube-node-lease fresh.
func (n *nodeManager) renewLease(ctx context.Context) error {
	leases := n.cs.CoordinationV1().Leases(v1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	holder := n.cfg.NodeName
	dur := int32(leaseDuration)
	l, err := leases.Get(ctx, holder, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: holder, Namespace: v1.NamespaceNodeLease},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &now},
		}
		if node := n.current(); node != nil {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &holder, &dur, &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func readTrim(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// memTotal is MemTotal from /proc/meminfo, in bytes.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// diskTotal is the size of the filesystem holding dir.
func diskTotal(dir string) int64 {
	var st unix.Statfs_t
	for d := dir; d != "/" && d != "."; d = parentDir(d) {
		if unix.Statfs(d, &st) == nil {
			return int64(st.Blocks) * st.Bsize
		}
	}
	if unix.Statfs("/", &st) == nil {
		return int64(st.Blocks) * st.Bsize
	}
	return 0
}

func parentDir(p string) string {
	i := strings.LastIndex(strings.TrimRight(p, "/"), "/")
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// osImage is PRETTY_NAME from /etc/os-release.
func osImage() string {
	b, _ := os.ReadFile("/etc/os-release")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}
