package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The test binary doubles as `nodeagent exec-container`, so launch can be
// tested for real (as root: it needs mount namespaces).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "exec-container" {
		os.Exit(execContainerMain())
	}
	os.Exit(m.Run())
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (mount namespaces, chroot): run go test as root, as make test does")
	}
}

// run launches argv in a container root with mounts and returns its output
// and exit code.
func runIn(t *testing.T, spec *containerSpec) (string, int32, error) {
	t.Helper()
	var mu sync.Mutex
	var out bytes.Buffer
	p, err := launch(spec, true, func(_ string, r io.Reader) {
		b, _ := io.ReadAll(r)
		mu.Lock()
		out.Write(b)
		mu.Unlock()
	})
	if err != nil {
		return "", -1, err
	}
	<-p.done
	code, _, _ := p.result()
	mu.Lock()
	defer mu.Unlock()
	return out.String(), code, nil
}

func hostDirs() []string {
	var out []string
	for _, d := range []string{"/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64"} {
		if _, err := os.Lstat(d); err == nil {
			out = append(out, d)
		}
	}
	return out
}

func TestContainerRoot(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	_ = os.MkdirAll(vol, 0o755)
	_ = os.WriteFile(filepath.Join(vol, "f"), []byte("in-volume"), 0o644)
	term := filepath.Join(dir, "termination-log")
	_ = os.WriteFile(term, nil, 0o666)
	root := filepath.Join(dir, "root")
	spec := &containerSpec{
		Root: root, Hostname: "podname", HostDirs: hostDirs(),
		Mounts: []mountSpec{
			{Source: vol, Target: "/data"},
			{Source: vol, Target: "/etc/nodeagent-test/config", ReadOnly: true}, // shadows the host's /etc
			{Source: term, Target: "/dev/termination-log"},
		},
		WorkingDir: "/work/dir",
		Argv: []string{"sh", "-c", `hostname; pwd; cat /data/f; cat /etc/nodeagent-test/config/f
touch /etc/nodeagent-test/config/x 2>/dev/null || echo volume-ro
touch /usr/x 2>/dev/null || echo usr-ro
echo written > /data/new; echo bye > /dev/termination-log; test -e /etc/passwd && echo etc-ok; exit 7`},
		Env: []string{"PATH=/usr/bin:/bin"},
	}
	out, code, err := runIn(t, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"podname\n", "/work/dir\n", "in-volume", "volume-ro", "usr-ro", "etc-ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
	if b, _ := os.ReadFile(filepath.Join(vol, "new")); string(b) != "written\n" {
		t.Errorf("the volume was not written: %q", b)
	}
	if b, _ := os.ReadFile(term); string(b) != "bye\n" {
		t.Errorf("termination log: %q", b)
	}
	// Nothing happened to the host.
	if _, err := os.Stat("/etc/nodeagent-test"); !os.IsNotExist(err) {
		t.Errorf("the host's /etc got a mount point: %v", err)
	}
	if _, err := os.Stat("/dev/termination-log"); !os.IsNotExist(err) {
		t.Errorf("the host's /dev got a mount point: %v", err)
	}
	if data, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(data), dir) {
		t.Error("a mount leaked into the test's namespace")
	}
}

func TestContainerStartError(t *testing.T) {
	needRoot(t)
	spec := &containerSpec{Root: filepath.Join(t.TempDir(), "root"), HostDirs: hostDirs(), Argv: []string{"no-such-command"}}
	_, _, err := runIn(t, spec)
	se, ok := err.(*startError)
	if !ok || !strings.Contains(se.msg, `exec: "no-such-command": executable file not found in $PATH`) {
		t.Fatalf("err %v, want a startError for the missing command", err)
	}
}

func TestContainerUserAndReadOnlyRoot(t *testing.T) {
	needRoot(t)
	uid, gid := int64(65534), int64(65534)
	spec := &containerSpec{
		Root: filepath.Join(t.TempDir(), "root"), HostDirs: hostDirs(), ReadOnlyRoot: true,
		Argv: []string{"sh", "-c", "id -u; id -g; id -G; touch /x 2>/dev/null || echo root-ro; grep NoNewPrivs /proc/self/status"},
		UID:  &uid, GID: &gid, Groups: []int64{2000}, SetGroups: true, NoNewPrivs: true,
	}
	out, code, err := runIn(t, spec)
	if err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	want := "65534\n65534\n65534 2000\nroot-ro\nNoNewPrivs:\t1\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
}

func TestProcessGroupAndNamespaceKill(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	// The first process exits at once; a descendant in a session of its own
	// must not outlive it.
	spec := &containerSpec{
		Root: filepath.Join(dir, "root"), HostDirs: hostDirs(),
		Argv: []string{"sh", "-c", "setsid sleep 1234 & sleep 0.2"},
	}
	if _, _, err := runIn(t, spec); err != nil {
		t.Fatal(err)
	}
	for _, pid := range procPIDs() {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); strings.Contains(string(b), "sleep\x001234") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("pid %d (setsid sleep) survived its container", pid)
		}
	}
}
