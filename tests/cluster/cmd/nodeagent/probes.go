package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Probes and lifecycle hooks, as the kubelet's prober runs them: a startup
// probe first (liveness and readiness wait for it), then readiness (the
// container is Ready only once it succeeds; without one, Ready once started)
// and liveness (failureThreshold failures restart the container). httpGet
// goes to the pod IP unless host is set, HTTPS without verification; exec
// runs the command inside a fresh copy of the container's root, with its
// environment and user.

// lifecycleAndProbes runs postStart and the probes of one container run,
// until ctx (the run) ends.
func (w *podWorker) lifecycleAndProbes(ctx context.Context, c *ctr, spec *containerSpec, p *process) {
	pod := w.currentPod()
	if c.spec.Lifecycle != nil && c.spec.Lifecycle.PostStart != nil {
		hctx, cancel := context.WithTimeout(ctx, gracePeriod(pod, false))
		err := w.runHandler(hctx, c, spec, c.spec.Lifecycle.PostStart)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.event(c, v1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed: "+err.Error())
			w.requestKill(c, fmt.Sprintf("FailedPostStartHook: container %s will be killed", c.spec.Name))
			return
		}
	}
	since := p.startedAt
	if sp := c.spec.StartupProbe; sp != nil {
		passed := false
		w.probeLoop(ctx, c, spec, sp, "Startup", since, func(ok bool) bool {
			passed = ok
			return false
		})
		if !passed {
			if ctx.Err() == nil {
				w.requestKill(c, fmt.Sprintf("Container %s failed startup probe, will be restarted", c.spec.Name))
			}
			return
		}
	}
	t := true
	w.mu.Lock()
	c.status.Started = &t
	if c.spec.ReadinessProbe == nil {
		c.status.Ready = true
	}
	w.mu.Unlock()
	w.markDirty()
	c.startOne.Do(func() { close(c.started) })
	var wg sync.WaitGroup
	if rp := c.spec.ReadinessProbe; rp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.probeLoop(ctx, c, spec, rp, "Readiness", since, func(ok bool) bool {
				w.mu.Lock()
				changed := c.status.Ready != ok
				c.status.Ready = ok
				w.mu.Unlock()
				if changed {
					logf("%s/%s: container %s ready=%v", w.ns, w.name, c.spec.Name, ok)
					w.markDirty()
				}
				return true
			})
		}()
	}
	if lp := c.spec.LivenessProbe; lp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.probeLoop(ctx, c, spec, lp, "Liveness", since, func(ok bool) bool {
				if !ok {
					w.requestKill(c, fmt.Sprintf("Container %s failed liveness probe, will be restarted", c.spec.Name))
				}
				return ok
			})
		}()
	}
	wg.Wait()
}

// requestKill asks the container's run loop to stop it (and restart it per
// policy).
func (w *podWorker) requestKill(c *ctr, msg string) {
	select {
	case c.killReq <- msg:
	default:
	}
}

// probeLoop probes every periodSeconds after initialDelaySeconds from since.
// Each time successThreshold successes or failureThreshold failures in a row
// change the result, onChange gets it; it returns false to stop probing.
func (w *podWorker) probeLoop(ctx context.Context, c *ctr, spec *containerSpec, pr *v1.Probe, kind string, since time.Time, onChange func(bool) bool) {
	if !sleepCtx(ctx, time.Until(since.Add(time.Duration(pr.InitialDelaySeconds)*time.Second))) {
		return
	}
	period := seconds(pr.PeriodSeconds, 10)
	timeout := seconds(pr.TimeoutSeconds, 1)
	succT, failT := max(pr.SuccessThreshold, 1), max(pr.FailureThreshold, 1)
	var result *bool
	var succ, fail int32
	for {
		ok, out := w.probeOnce(ctx, c, spec, &pr.ProbeHandler, timeout)
		if ctx.Err() != nil {
			return
		}
		if ok {
			succ, fail = succ+1, 0
		} else {
			succ, fail = 0, fail+1
			w.event(c, v1.EventTypeWarning, "Unhealthy", kind+" probe failed: "+out)
		}
		if ok && succ >= succT && (result == nil || !*result) {
			r := true
			result = &r
			if !onChange(true) {
				return
			}
		}
		if !ok && fail >= failT && (result == nil || *result) {
			r := false
			result = &r
			if !onChange(false) {
				return
			}
		}
		if !sleepCtx(ctx, period) {
			return
		}
	}
}

func seconds(v, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

// probeOnce runs one probe; it returns success and a message for failures.
func (w *podWorker) probeOnce(ctx context.Context, c *ctr, spec *containerSpec, h *v1.ProbeHandler, timeout time.Duration) (bool, string) {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case h.Exec != nil:
		code, out, err := w.execIn(pctx, spec, h.Exec.Command)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return false, fmt.Sprintf("command %q timed out", strings.Join(h.Exec.Command, " "))
			}
			return false, err.Error()
		}
		if code != 0 {
			return false, strings.TrimSpace(out)
		}
		return true, ""
	case h.HTTPGet != nil:
		return w.httpGet(pctx, c, h.HTTPGet)
	case h.TCPSocket != nil:
		return w.tcpSocket(pctx, c, h.TCPSocket)
	case h.GRPC != nil:
		return w.grpcHealth(pctx, h.GRPC)
	}
	return false, "probe has no handler"
}

// runHandler runs a lifecycle hook.
func (w *podWorker) runHandler(ctx context.Context, c *ctr, spec *containerSpec, h *v1.LifecycleHandler) error {
	switch {
	case h.Exec != nil:
		if spec == nil {
			w.mu.Lock()
			spec = c.runSpec
			w.mu.Unlock()
		}
		if spec == nil {
			return errors.New("container not running")
		}
		code, out, err := w.execIn(ctx, spec, h.Exec.Command)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command '%s' exited with %d: %s", strings.Join(h.Exec.Command, " "), code, out)
		}
	case h.HTTPGet != nil:
		if ok, msg := w.httpGet(ctx, c, h.HTTPGet); !ok {
			return errors.New(msg)
		}
	case h.TCPSocket != nil:
		if ok, msg := w.tcpSocket(ctx, c, h.TCPSocket); !ok {
			return errors.New(msg)
		}
	case h.Sleep != nil:
		sleepCtx(ctx, time.Duration(h.Sleep.Seconds)*time.Second)
	}
	return nil
}

// execIn runs cmd in a fresh copy of the container's root (same mounts,
// environment and user), as a probe or hook; a timeout kills it.
func (w *podWorker) execIn(ctx context.Context, base *containerSpec, cmd []string) (int32, string, error) {
	if len(cmd) == 0 {
		return -1, "", errors.New("no command")
	}
	spec := *base
	spec.Argv = cmd
	var out limitedBuffer
	p, err := launch(&spec, spec.Hostname != "", func(_ string, r io.Reader) { _, _ = io.Copy(&out, r) })
	if err != nil {
		return -1, "", err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		p.kill(syscall.SIGKILL)
		<-p.done
		return -1, out.String(), ctx.Err()
	}
	code, _, _ := p.result()
	return code, out.String(), nil
}

// limitedBuffer keeps the first 10 KiB written to it (the kubelet's limit
// for probe output).
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 10*1024 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// probeHost is the host probes and hooks reach by default: the pod IP.
func (w *podWorker) probeHost(host string) string {
	if host != "" {
		return host
	}
	ips, hostIP := w.ipsForEnv()
	if len(ips) > 0 {
		return ips[0]
	}
	return hostIP
}

// resolvePort turns a probe's port (number, or the name of a container port)
// into a number.
func resolvePort(p intstr.IntOrString, c *v1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("couldn't find port: %v in %v", p.StrVal, c.Name)
}

var probeTransport = &http.Transport{
	TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet: probes do not verify
	DisableKeepAlives: true,
	Proxy:             nil,
}

func (w *podWorker) httpGet(ctx context.Context, c *ctr, h *v1.HTTPGetAction) (bool, string) {
	port, err := resolvePort(h.Port, &c.spec)
	if err != nil {
		return false, err.Error()
	}
	scheme := strings.ToLower(string(h.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	u, err := url.Parse(h.Path)
	if err != nil {
		return false, err.Error()
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(w.probeHost(h.Host), strconv.Itoa(port))
	if u.Path == "" {
		u.Path = "/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "kube-probe/1.34")
	req.Header.Set("Accept", "*/*")
	for _, hd := range h.HTTPHeaders {
		if strings.EqualFold(hd.Name, "Host") {
			req.Host = hd.Value
			continue
		}
		req.Header.Add(hd.Name, hd.Value)
	}
	resp, err := (&http.Client{Transport: probeTransport}).Do(req)
	if err != nil {
		return false, fmt.Sprintf("Get %q: %v", u.String(), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 10*1024))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode) + bodyNote(body)
}

func bodyNote(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return ": " + strings.TrimSpace(string(b))
}

func (w *podWorker) tcpSocket(ctx context.Context, c *ctr, h *v1.TCPSocketAction) (bool, string) {
	port, err := resolvePort(h.Port, &c.spec)
	if err != nil {
		return false, err.Error()
	}
	addr := net.JoinHostPort(w.probeHost(h.Host), strconv.Itoa(port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false, fmt.Sprintf("dial tcp %s: %v", addr, errors.Unwrap(err))
	}
	_ = conn.Close()
	return true, ""
}

// grpcHealth calls grpc.health.v1.Health/Check on the pod IP.
func (w *podWorker) grpcHealth(ctx context.Context, h *v1.GRPCAction) (bool, string) {
	addr := net.JoinHostPort(w.probeHost(""), strconv.Itoa(int(h.Port)))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUserAgent("kube-probe/1.34"))
	if err != nil {
		return false, err.Error()
	}
	defer conn.Close()
	svc := ""
	if h.Service != nil {
		svc = *h.Service
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		return false, fmt.Sprintf("failed to connect service %q within %v: %v", addr, time.Second, err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return false, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String())
	}
	return true, ""
}
