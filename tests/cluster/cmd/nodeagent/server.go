package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
)

// The kubelet API, as much of it as `kubectl logs` needs: the apiserver
// proxies GET /api/v1/namespaces/NS/pods/P/log to
// https://<node InternalIP>:<kubeletEndpoint port>/containerLogs/NS/P/C.
// It listens on 127.0.0.1 only. It asks for the apiserver's client
// certificate but accepts any client, verified or not (test only: a real
// kubelet authenticates it against its client CA and authorizes with a
// SubjectAccessReview).

func (k *kubelet) serve(ctx context.Context) (net.Listener, error) {
	cert, err := k.servingCert()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/containerLogs/", k.handleLogs)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequestClientCert,
			MinVersion:   tls.VersionTLS12,
		},
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(k.cfg.KubeletPort)))
	if err != nil {
		return nil, err
	}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
			logf("kubelet API: %v", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return ln, nil
}

// servingCert loads --tls-cert-file, or makes a self-signed one for
// 127.0.0.1 (the apiserver does not verify kubelets unless told to with
// --kubelet-certificate-authority).
func (k *kubelet) servingCert() (tls.Certificate, error) {
	if k.cfg.TLSCertFile != "" {
		return tls.LoadX509KeyPair(k.cfg.TLSCertFile, k.cfg.TLSKeyFile)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: k.cfg.NodeName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{k.cfg.NodeName, "localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// logRequest is the query of /containerLogs (k8s.io/api PodLogOptions).
type logRequest struct {
	follow, previous, timestamps bool
	tailLines                    int64 // -1: all
	limitBytes                   int64 // 0: no limit
	since                        time.Time
}

func parseLogRequest(r *http.Request) (logRequest, error) {
	q := r.URL.Query()
	lr := logRequest{tailLines: -1}
	lr.follow = boolParam(q.Get("follow"))
	lr.previous = boolParam(q.Get("previous"))
	lr.timestamps = boolParam(q.Get("timestamps"))
	if s := q.Get("tailLines"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return lr, fmt.Errorf("invalid tailLines %q", s)
		}
		lr.tailLines = n
	}
	if s := q.Get("limitBytes"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return lr, fmt.Errorf("invalid limitBytes %q", s)
		}
		lr.limitBytes = n
	}
	if s := q.Get("sinceSeconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return lr, fmt.Errorf("invalid sinceSeconds %q", s)
		}
		lr.since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if s := q.Get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return lr, fmt.Errorf("invalid sinceTime %q", s)
		}
		lr.since = t
	}
	return lr, nil
}

func boolParam(s string) bool { b, _ := strconv.ParseBool(s); return b }

func (k *kubelet) handleLogs(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		http.Error(w, "want /containerLogs/{namespace}/{pod}/{container}", http.StatusBadRequest)
		return
	}
	ns, name, container := parts[0], parts[1], parts[2]
	lr, err := parseLogRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	worker, pod := k.workerByName(ns, name)
	if pod == nil {
		http.Error(w, fmt.Sprintf("pod %q not found", ns+"/"+name), http.StatusNotFound)
		return
	}
	var c *ctr
	if worker != nil {
		for _, x := range append(append([]*ctr{}, worker.inits...), worker.ctrs...) {
			if x.spec.Name == container {
				c = x
			}
		}
	}
	if findContainer(pod, container) == nil {
		http.Error(w, fmt.Sprintf("container %s is not valid for pod %s", container, name), http.StatusBadRequest)
		return
	}
	// Which run: the current one, or with previous the one before.
	var restart int32
	var live *logFile
	var status v1.ContainerStatus
	if c != nil {
		worker.mu.Lock()
		status = c.status
		live = c.log
		worker.mu.Unlock()
	} else {
		for _, s := range append(append([]v1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
			if s.Name == container {
				status = s
			}
		}
	}
	restart = status.RestartCount
	if status.State.Waiting != nil && status.LastTerminationState.Terminated != nil {
		restart-- // in back-off: the current log is the last run's
	}
	if lr.previous {
		restart--
		live = nil
		if restart < 0 {
			http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", container, name), http.StatusBadRequest)
			return
		}
	} else if status.State.Waiting != nil && status.LastTerminationState.Terminated == nil {
		http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, name, status.State.Waiting.Reason), http.StatusBadRequest)
		return
	}
	path := filepath.Join(k.podDir(pod.UID), "logs", container, strconv.Itoa(int(restart))+".log")
	if live != nil && live.path != path {
		live = nil
	}
	if _, err := os.Stat(path); err != nil {
		http.Error(w, fmt.Sprintf("log of container %q in pod %q not found", container, name), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Transfer-Encoding", "chunked")
	streamLog(r.Context(), w, path, live, lr)
}

// streamLog writes the log at path per lr; with follow and a live log, it
// keeps writing until the container ends or the client goes.
func streamLog(ctx context.Context, w http.ResponseWriter, path string, live *logFile, lr logRequest) {
	flusher, _ := w.(http.Flusher)
	written := int64(0)
	emit := func(entries []logEntry) bool {
		for _, e := range entries {
			if !lr.since.IsZero() && e.time.Before(lr.since) {
				continue
			}
			var b []byte
			if lr.timestamps {
				b = append(b, e.time.UTC().Format(time.RFC3339Nano)...)
				b = append(b, ' ')
			}
			b = append(b, e.content()...)
			if lr.limitBytes > 0 && written+int64(len(b)) > lr.limitBytes {
				b = b[:lr.limitBytes-written]
			}
			n, err := w.Write(b)
			written += int64(n)
			if err != nil || (lr.limitBytes > 0 && written >= lr.limitBytes) {
				return false
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	// Subscribe before reading, so no write falls between.
	var changed <-chan struct{}
	closed := true
	if live != nil {
		changed, closed = live.changed()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	entries, used := parseLogData(data)
	if !emit(tailEntries(entries, int(lr.tailLines))) || !lr.follow || live == nil {
		return
	}
	offset := used
	for !closed {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		changed, closed = live.changed()
		more, n := readFrom(path, offset)
		offset += n
		if !emit(more) {
			return
		}
	}
	// Closed: what was written before the close is read; one more look
	// catches lines that raced with the subscription.
	more, _ := readFrom(path, offset)
	emit(more)
}

// readFrom parses the complete log lines after offset.
func readFrom(path string, offset int64) ([]logEntry, int64) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, 0
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, 0
	}
	return parseLogData(data)
}
