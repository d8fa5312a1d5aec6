// Command nodeagent is a test-only stand-in for the kubelet (and the
// scheduler) of Lifeboat's test cluster: it registers a Node, binds pending
// pods to it, and runs their containers as host processes, each in a private
// mount namespace chrooted into a root built from the host's /usr, /etc,
// /lib... plus the pod's volumes. No container runtime, no cgroups, no CNI:
// see tests/cluster/NODEAGENT.md for what it emulates and what it does not.
//
//	nodeagent --kubeconfig DIR/node.kubeconfig --scheduler-kubeconfig DIR/scheduler.kubeconfig \
//	          --node-name lifeboat-node --root-dir DIR/node --volumes-dir DIR/volumes \
//	          --image-map lifeboat-job=/path/to/lifeboat ... --kubelet-port N \
//	          --tls-cert-file F --tls-private-key-file F --pod-cidr 127.0.1.0/24 \
//	          --ready-file DIR/nodeagent.ready
//
// `nodeagent exec-container` is internal: the agent runs itself that way to
// start a container (see child.go).
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "exec-container" {
		os.Exit(execContainerMain())
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("nodeagent: ")
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nodeagent: %v\n", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		log.Printf("fatal: %v", err)
		os.Exit(1)
	}
}

// clientFor makes a clientset from a kubeconfig file.
func clientFor(path, agent string) (*kubernetes.Clientset, *rest.Config, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	rc.UserAgent = agent
	rc.QPS, rc.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(rc)
	return cs, rc, err
}

func run(cfg *config) error {
	// client-go logs through klog; keep its lines on stderr too, and quiet.
	klog.SetOutput(os.Stderr)
	klog.LogToStderr(true)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Pods get a context that outlives the signal just long enough to be
	// stopped by stopAll (rather than torn down half-way by the signal).
	podsCtx, cancelPods := context.WithCancel(context.Background())
	defer cancelPods()

	nodeCS, rc, err := clientFor(cfg.Kubeconfig, "nodeagent/"+kubeletVersion+" (kubelet)")
	if err != nil {
		return err
	}
	schedCS, _, err := clientFor(cfg.SchedulerKubeconfig, "nodeagent/"+kubeletVersion+" (scheduler)")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.RootDir, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.VolumesDir, 0o755); err != nil {
		return err
	}
	log.Printf("node %s, apiserver %s, root %s, images: %s", cfg.NodeName, rc.Host, cfg.RootDir, cfg.Images.String())

	node := newNodeManager(nodeCS, cfg)
	if err := node.register(ctx); err != nil {
		return fmt.Errorf("registering the node: %w", err)
	}
	go node.heartbeat(podsCtx)

	k, err := newKubelet(podsCtx, cfg, nodeCS, node, newEventRecorder(podsCtx, nodeCS, "kubelet", cfg.NodeName), rc.Host)
	if err != nil {
		return err
	}
	if _, err := k.serve(podsCtx); err != nil {
		return fmt.Errorf("kubelet API on port %d: %w", cfg.KubeletPort, err)
	}
	if err := k.run(ctx); err != nil {
		return err
	}
	sched := newScheduler(schedCS, node, newEventRecorder(podsCtx, schedCS, "default-scheduler", ""))
	go sched.run(ctx)

	if cfg.ReadyFile != "" {
		if err := os.WriteFile(cfg.ReadyFile, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return err
		}
	}
	log.Printf("ready: node %s, kubelet API on 127.0.0.1:%d", cfg.NodeName, cfg.KubeletPort)

	<-ctx.Done()
	log.Printf("stopping: SIGTERM to every container, SIGKILL after 2 s")
	k.stopAll()
	if cfg.ReadyFile != "" {
		_ = os.Remove(cfg.ReadyFile)
	}
	log.Printf("stopped")
	return nil
}
