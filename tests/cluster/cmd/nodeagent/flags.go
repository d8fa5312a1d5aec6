package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"unicode"
)

// config is the node agent's command line (see NODEAGENT.md). Every flag can
// also come from the environment as NODEAGENT_<FLAG_IN_UPPER_SNAKE_CASE>; the
// command line wins.
type config struct {
	Kubeconfig          string // node identity: system:node:<name>, group system:nodes
	SchedulerKubeconfig string // scheduler identity: system:kube-scheduler
	NodeName            string
	RootDir             string // per-pod folders
	VolumesDir          string // PVC claims: <dir>/<namespace>/<claimName>
	Images              imageTable
	KubeletPort         int
	TLSCertFile         string
	TLSKeyFile          string
	PodCIDR             string
	ReadyFile           string
}

// imageTable is the repeatable --image-map flag.
type imageTable []imageEntry

func (t *imageTable) String() string {
	parts := make([]string, 0, len(*t))
	for _, e := range *t {
		parts = append(parts, e.String())
	}
	return strings.Join(parts, ",")
}

// Set adds NAME=PATH[:ENTRY] and NAME=rootfs:DIR[:CONFIG] entries, separated by commas or white space
// (so NODEAGENT_IMAGE_MAP can list several, as `up` takes them).
func (t *imageTable) Set(v string) error {
	for _, one := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		e, err := parseImageEntry(one)
		if err != nil {
			return err
		}
		*t = append(*t, e)
	}
	return nil
}

// parseConfig reads the command line (args without the program name), then
// fills flags left unset from NODEAGENT_* variables found by getenv.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("nodeagent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of the node identity (system:node:<node-name>)")
	fs.StringVar(&c.SchedulerKubeconfig, "scheduler-kubeconfig", "", "kubeconfig of the scheduler identity (system:kube-scheduler); default: --kubeconfig")
	fs.StringVar(&c.NodeName, "node-name", "lifeboat-node", "name of the Node to register")
	fs.StringVar(&c.RootDir, "root-dir", "", "folder for per-pod data (volumes, logs, termination messages, container roots)")
	fs.StringVar(&c.VolumesDir, "volumes-dir", "", "folder backing PersistentVolumeClaims: <dir>/<namespace>/<claimName>")
	fs.Var(&c.Images, "image-map", "NAME=PATH[:ENTRY]: run image NAME as binary PATH mounted at ENTRY; NAME=rootfs:DIR[:CONFIG]: image NAME is the root folder DIR, configured by CONFIG (buildah inspect JSON) (repeatable)")
	fs.IntVar(&c.KubeletPort, "kubelet-port", 10250, "port of the kubelet API (HTTPS on 127.0.0.1)")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", "", "serving certificate of the kubelet API (default: a self-signed one)")
	fs.StringVar(&c.TLSKeyFile, "tls-private-key-file", "", "key of --tls-cert-file")
	fs.StringVar(&c.PodCIDR, "pod-cidr", "127.0.1.0/24", "loopback range that pod IPs are taken from")
	fs.StringVar(&c.ReadyFile, "ready-file", "", "file created once the Node is registered and Ready")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || envErr != nil {
			return
		}
		name := "NODEAGENT_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s: %w", name, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	return c, c.validate()
}

func (c *config) validate() error {
	if c.Kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required")
	}
	if c.SchedulerKubeconfig == "" {
		c.SchedulerKubeconfig = c.Kubeconfig
	}
	if c.RootDir == "" {
		return fmt.Errorf("--root-dir is required")
	}
	if c.VolumesDir == "" {
		c.VolumesDir = filepath.Join(c.RootDir, "volumes")
	}
	var err error
	if c.RootDir, err = filepath.Abs(c.RootDir); err != nil {
		return err
	}
	if c.VolumesDir, err = filepath.Abs(c.VolumesDir); err != nil {
		return err
	}
	if c.KubeletPort <= 0 || c.KubeletPort > 65535 {
		return fmt.Errorf("--kubelet-port %d is out of range", c.KubeletPort)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return fmt.Errorf("--tls-cert-file and --tls-private-key-file go together")
	}
	_, n, err := net.ParseCIDR(c.PodCIDR)
	if err != nil {
		return fmt.Errorf("--pod-cidr: %w", err)
	}
	if n.IP.To4() == nil || !n.IP.IsLoopback() {
		return fmt.Errorf("--pod-cidr %s must be an IPv4 range inside 127.0.0.0/8 (pods share the host's network)", c.PodCIDR)
	}
	return nil
}
