package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

func TestImageLookup(t *testing.T) {
	var table imageTable
	for _, e := range []string{
		"lifeboat-job=/opt/build/lifeboat",
		"lifeboat-operator=/opt/build/lifeboat-operator:/manager",
		"registry.local/exact:1.0=/bin/exact",
	} {
		if err := table.Set(e); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]string{
		"lifeboat-job":       "/usr/local/bin/lifeboat",
		"lifeboat-job:0.1.0": "/usr/local/bin/lifeboat",
		"ghcr.io/x/lifeboat-job:0.1.0@sha256:abcdef0": "/usr/local/bin/lifeboat",
		"ghcr.io/x/lifeboat-job@sha256:abcdef0":       "/usr/local/bin/lifeboat",
		"localhost:5000/a/b/lifeboat-operator:dev":    "/manager",
		"registry.local/exact:1.0":                    "/usr/local/bin/exact",
		"lifeboat-job-extra:1":                        "",
		"ghcr.io/lifeboat-job/other:1":                "",
		"busybox":                                     "",
		"registry.local/exact:2.0":                    "",
	}
	for ref, want := range cases {
		e, ok := table.lookup(ref)
		got := ""
		if ok {
			got = e.Entry
		}
		if got != want {
			t.Errorf("lookup(%q) = %q, want %q", ref, got, want)
		}
	}
	if table.names() != "lifeboat-job, lifeboat-operator, registry.local/exact:1.0" {
		t.Errorf("names: %s", table.names())
	}
}

func TestParseImageEntry(t *testing.T) {
	for _, bad := range []string{"", "=x", "name=", "noequals", "n=/x:/"} {
		if _, err := parseImageEntry(bad); err == nil {
			t.Errorf("parseImageEntry(%q): no error", bad)
		}
	}
	e, err := parseImageEntry("n=/a:b/c:/usr/bin/c")
	if err != nil || e.Path != "/a:b/c" || e.Entry != "/usr/bin/c" {
		t.Errorf("colon in PATH: %+v %v", e, err)
	}
}

func TestImageBaseName(t *testing.T) {
	for ref, want := range map[string]string{
		"a":                            "a",
		"a:1":                          "a",
		"docker.io/library/busybox:1":  "busybox",
		"host:5000/p/q@sha256:00":      "q",
		"host:5000/p/q:tag@sha256:00":  "q",
		"ghcr.io/x/lifeboat-job:0.1.0": "lifeboat-job",
	} {
		if got := imageBaseName(ref); got != want {
			t.Errorf("imageBaseName(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff()
	now := time.Unix(1000, 0)
	var got []time.Duration
	for range 7 {
		d := b.next(now)
		got = append(got, d)
		now = now.Add(d + time.Second) // the container ran a second
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("delays %v, want %v s", got, want)
		}
	}
	// Running longer than twice the cap forgets the back-off.
	if d := b.next(now.Add(61 * time.Second)); d != time.Second {
		t.Errorf("after a long run: %v, want 1s", d)
	}
}

// writeCRILog writes entries as a container's log would.
func writeCRILog(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "0.log")
	lf, err := createLogFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lf.pump("stdout", strings.NewReader(text))
	lf.close()
	return p
}

func TestLogFormatAndTail(t *testing.T) {
	long := strings.Repeat("x", maxLogLine+10)
	p := writeCRILog(t, "one\ntwo\n"+long+"\nno newline at the end")
	data, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d log lines, want 5 (the long line split in two): %q", len(lines), data)
	}
	for i, tag := range []string{"F", "F", "P", "F", "P"} {
		f := strings.SplitN(lines[i], " ", 4)
		if len(f) < 3 || f[1] != "stdout" || f[2] != tag {
			t.Errorf("line %d: %q, want stream stdout tag %s", i, lines[i][:min(60, len(lines[i]))], tag)
		}
		if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil {
			t.Errorf("line %d: timestamp %q: %v", i, f[0], err)
		}
	}
	entries, _, err := readLogEntries(p)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, e := range entries {
		b.Write(e.content())
	}
	if b.String() != "one\ntwo\n"+long+"\nno newline at the end" {
		t.Error("log content does not round-trip")
	}
	// tailLines counts whole lines; the partial chunks of one line go with it.
	var tail bytes.Buffer
	for _, e := range tailEntries(entries, 2) {
		tail.Write(e.content())
	}
	if tail.String() != long+"\nno newline at the end" {
		t.Errorf("tail 2: %q...", tail.String()[:20])
	}
	if n := len(tailEntries(entries, 0)); n != 0 {
		t.Errorf("tail 0: %d entries", n)
	}
}

func TestTerminationMessage(t *testing.T) {
	dir := t.TempDir()
	var logText strings.Builder
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&logText, "line %03d\n", i)
	}
	logPath := writeCRILog(t, logText.String())
	file := filepath.Join(dir, "termination-log")

	// The file wins, whatever the policy.
	_ = os.WriteFile(file, []byte("from the file"), 0o644)
	if got := terminationMessage(file, logPath, true, 1); got != "from the file" {
		t.Errorf("file: %q", got)
	}
	// At most the last 4 KiB of the file.
	_ = os.WriteFile(file, []byte(strings.Repeat("a", 100)+strings.Repeat("b", 4096)), 0o644)
	if got := terminationMessage(file, logPath, false, 0); got != strings.Repeat("b", 4096) {
		t.Errorf("long file: %d bytes, starting %q", len(got), got[:5])
	}
	// Empty file: no message, unless FallbackToLogsOnError and a failure.
	_ = os.WriteFile(file, nil, 0o644)
	if got := terminationMessage(file, logPath, false, 1); got != "" {
		t.Errorf("empty file, File policy: %q", got)
	}
	if got := terminationMessage(file, logPath, true, 0); got != "" {
		t.Errorf("empty file, fallback, success: %q", got)
	}
	got := terminationMessage(file, logPath, true, 137)
	// The last 80 lines are 80*9 = 720 bytes: under the 2048-byte cap.
	if !strings.HasPrefix(got, "line 021\n") || !strings.HasSuffix(got, "line 100\n") || strings.Count(got, "\n") != 80 {
		t.Errorf("fallback: %d lines, %q ... %q", strings.Count(got, "\n"), got[:9], got[len(got)-9:])
	}
	// Missing file: same as empty.
	if got := terminationMessage(filepath.Join(dir, "nope"), logPath, true, 2); !strings.HasSuffix(got, "line 100\n") {
		t.Errorf("missing file, fallback: %q", got)
	}
	// The byte cap: 80 long lines keep only their last 2048 bytes.
	logText.Reset()
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&logText, "%03d %s\n", i, strings.Repeat("z", 95))
	}
	logPath = writeCRILog(t, logText.String())
	got = terminationMessage(file, logPath, true, 1)
	if len(got) != 2048 || !strings.HasSuffix(got, strings.Repeat("z", 95)+"\n") {
		t.Errorf("byte cap: %d bytes", len(got))
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{
		"NODEAGENT_ROOT_DIR":  "/tmp/r",
		"NODEAGENT_NODE_NAME": "from-env",
		"NODEAGENT_IMAGE_MAP": "a=/bin/a, b=/bin/b:/b c=/bin/c",
	}
	c, err := parseConfig([]string{"--kubeconfig", "/k", "--node-name", "n1", "--pod-cidr", "127.0.9.0/28"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeName != "n1" || c.RootDir != "/tmp/r" || c.SchedulerKubeconfig != "/k" || c.VolumesDir != "/tmp/r/volumes" {
		t.Errorf("config: %+v", c)
	}
	if len(c.Images) != 3 || c.Images[1].Entry != "/b" || c.Images[2].Entry != "/usr/local/bin/c" {
		t.Errorf("images from the environment: %v", c.Images)
	}
	if _, err := parseConfig([]string{"--kubeconfig", "/k", "--root-dir", "/r", "--pod-cidr", "10.0.0.0/24"},
		func(string) string { return "" }, io.Discard); err == nil {
		t.Error("a non-loopback pod CIDR is accepted")
	}
}

func TestIPAllocator(t *testing.T) {
	a, err := newIPAllocator("127.0.1.0/30") // .1 and .2 usable
	if err != nil {
		t.Fatal(err)
	}
	x, _ := a.allocate("")
	y, _ := a.allocate("")
	if x != "127.0.1.1" || y != "127.0.1.2" {
		t.Errorf("got %s %s", x, y)
	}
	if _, err := a.allocate(""); err == nil {
		t.Error("range exhausted, no error")
	}
	a.release(x)
	if z, _ := a.allocate("127.0.1.1"); z != "127.0.1.1" {
		t.Errorf("preferred address: %s", z)
	}
	b, _ := newIPAllocator("127.0.0.0/30")
	if ip, _ := b.allocate(""); ip != "127.0.0.2" {
		t.Errorf("127.0.0.1 is the node's; got %s", ip)
	}
}

func TestWritePayload(t *testing.T) {
	dir := t.TempDir()
	files := map[string]payloadFile{
		"a":       {data: []byte("1"), mode: 0o400},
		"sub/b/c": {data: []byte("2"), mode: 0o644},
	}
	if err := writePayload(dir, files); err != nil {
		t.Fatal(err)
	}
	check := func(rel, want string, mode os.FileMode) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", rel, b, err, want)
		}
		if fi, err := os.Stat(filepath.Join(dir, rel)); err == nil && fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %o, want %o", rel, fi.Mode().Perm(), mode)
		}
	}
	check("a", "1", 0o400)
	check("sub/b/c", "2", 0o644)
	if target, _ := os.Readlink(filepath.Join(dir, "a")); target != "..data/a" {
		t.Errorf("a -> %q, want ..data/a", target)
	}
	// An update swaps ..data and drops what is gone.
	if err := writePayload(dir, map[string]payloadFile{"a": {data: []byte("new"), mode: 0o644}}); err != nil {
		t.Fatal(err)
	}
	check("a", "new", 0o644)
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("sub survived the update: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 { // a, ..data, one timestamped folder
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("entries after update: %v", names)
	}
	if err := writePayload(dir, map[string]payloadFile{"../x": {}}); err == nil {
		t.Error("a path leaving the volume is accepted")
	}
}

func TestPodPhase(t *testing.T) {
	running := v1.ContainerState{Running: &v1.ContainerStateRunning{}}
	waiting := v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	exited := func(code int32) v1.ContainerState {
		return v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: code}}
	}
	mk := func(states ...v1.ContainerState) []*ctr {
		var out []*ctr
		for i, s := range states {
			out = append(out, &ctr{spec: v1.Container{Name: fmt.Sprint(i)}, status: v1.ContainerStatus{State: s}})
		}
		return out
	}
	pod := func(policy v1.RestartPolicy) *v1.Pod {
		return &v1.Pod{Spec: v1.PodSpec{RestartPolicy: policy}}
	}
	cases := []struct {
		name     string
		policy   v1.RestartPolicy
		inits    []*ctr
		ctrs     []*ctr
		terminal bool
		want     v1.PodPhase
	}{
		{"waiting", v1.RestartPolicyNever, nil, mk(waiting), false, v1.PodPending},
		{"running", v1.RestartPolicyNever, nil, mk(running, exited(0)), false, v1.PodRunning},
		{"all succeeded", v1.RestartPolicyNever, nil, mk(exited(0), exited(0)), false, v1.PodSucceeded},
		{"one failed, Never", v1.RestartPolicyNever, nil, mk(exited(0), exited(1)), false, v1.PodFailed},
		{"one failed, OnFailure", v1.RestartPolicyOnFailure, nil, mk(exited(1)), false, v1.PodRunning},
		{"exited, Always", v1.RestartPolicyAlways, nil, mk(exited(0)), false, v1.PodRunning},
		{"exited, Always, terminal", v1.RestartPolicyAlways, nil, mk(exited(143)), true, v1.PodFailed},
		{"init running", v1.RestartPolicyNever, mk(running), mk(waiting), false, v1.PodPending},
		{"init failed, Never", v1.RestartPolicyNever, mk(exited(2)), mk(waiting), false, v1.PodFailed},
		{"init failed, OnFailure", v1.RestartPolicyOnFailure, mk(exited(2)), mk(waiting), false, v1.PodPending},
	}
	for _, tc := range cases {
		if got := podPhase(pod(tc.policy), tc.inits, tc.ctrs, tc.terminal); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	_ = os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "data"), nil, 0o644)
	if p, err := lookPath("tool", "/nonexistent:"+dir); err != nil || p != exe {
		t.Errorf("lookPath tool: %q %v", p, err)
	}
	if _, err := lookPath("data", dir); err == nil || !strings.Contains(err.Error(), "executable file not found in $PATH") {
		t.Errorf("non-executable: %v", err)
	}
	if _, err := lookPath(filepath.Join(dir, "nope"), ""); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing path: %v", err)
	}
}

func TestTokenRefreshAt(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	cases := []struct {
		requested int64
		expires   time.Time
		want      time.Duration
	}{
		{3600, time.Time{}, 48 * time.Minute}, // 80 % of an hour
		{3607, now.Add(3607 * time.Second), 2885600 * time.Millisecond},
		{3600, now.Add(10 * time.Minute), 8 * time.Minute},      // the server gave less
		{3600, now.Add(365 * 24 * time.Hour), 48 * time.Minute}, // extended: still per the request
		{7 * 24 * 3600, time.Time{}, 24 * time.Hour * 8 / 10},   // at least daily
	}
	for _, tc := range cases {
		if got := tokenRefreshAt(now, tc.requested, tc.expires).Sub(now); got != tc.want {
			t.Errorf("requested %d, expires %v: refresh after %v, want %v", tc.requested, tc.expires.Sub(now), got, tc.want)
		}
	}
}
