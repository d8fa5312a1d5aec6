package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one started container (or exec probe, or hook): the
// exec-container child, which became the container's command. It leads its
// own process group, so signals reach everything it started (pg_dump's
// children too); it gets SIGKILL if the agent dies (Pdeathsig).
//
// A descendant can leave the group (setsid, setpgid: GNU timeout does), but
// not the container's mount namespace, which identifies the container: when
// the first process exits, everything left in that namespace gets SIGKILL,
// as a PID namespace would do in a real container.
type process struct {
	pid   int
	mntNS string // "mnt:[inode]" of the container's mount namespace
	// nsRef holds the namespace open: a freed namespace's inode number is
	// soon reused, and must not name another container while we use it.
	nsRef     *os.File
	startedAt time.Time

	mu         sync.Mutex
	done       chan struct{} // closed once the process was reaped and its output drained
	exited     bool
	exitCode   int32
	signal     int32
	finishedAt time.Time
}

// startError is a failure before the container's command ran (mounts,
// credentials, command not found): the kubelet reports it as terminated
// exitCode 128 reason StartError.
type startError struct{ msg string }

func (e *startError) Error() string { return e.msg }

// launch starts spec. output receives the child's stdout and stderr pipes
// and must read them to EOF; launch returns once exec-container has exec'd
// the command, or with a *startError if it could not.
func launch(spec *containerSpec, newUTS bool, output func(stream string, r io.Reader)) (*process, error) {
	var closeLater []*os.File
	closeAll := func() {
		for _, f := range closeLater {
			_ = f.Close()
		}
	}
	pipe := func() (*os.File, *os.File, error) {
		r, w, err := os.Pipe()
		if err == nil {
			closeLater = append(closeLater, r, w)
		}
		return r, w, err
	}
	specR, specW, err := pipe()
	if err != nil {
		return nil, err
	}
	syncR, syncW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	outR, outW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	errR, errW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		closeAll()
		return nil, err
	}
	closeLater = append(closeLater, devNull)

	spec.ParentPID = os.Getpid()
	cmd := exec.Command("/proc/self/exe", "exec-container")
	cmd.Args[0] = "nodeagent"
	cmd.Env = []string{} // the container's environment travels in the spec
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, outW, errW
	cmd.ExtraFiles = []*os.File{specR, syncW} // fd 3, fd 4
	flags := uintptr(syscall.CLONE_NEWNS)
	if newUTS {
		flags |= syscall.CLONE_NEWUTS
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:      true,
		Pdeathsig:    syscall.SIGKILL,
		Unshareflags: flags,
	}
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, &startError{msg: fmt.Sprintf("failed to start container process: %v", err)}
	}
	// The child is in its new namespace already, and waits for the spec.
	nsRef, _ := os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/mnt")
	mntNS := ""
	if nsRef != nil {
		mntNS = mountNamespace(cmd.Process.Pid)
	}
	// The child's ends belong to the child now.
	for _, f := range []*os.File{specR, syncW, outW, errW, devNull} {
		_ = f.Close()
	}
	go func() {
		_ = json.NewEncoder(specW).Encode(spec)
		_ = specW.Close()
	}()
	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); output("stdout", outR) }()
	go func() { defer pumps.Done(); output("stderr", errR) }()

	p := &process{pid: cmd.Process.Pid, mntNS: mntNS, nsRef: nsRef, done: make(chan struct{})}
	msg, _ := io.ReadAll(syncR)
	_ = syncR.Close()
	p.startedAt = time.Now()
	go p.wait(cmd, &pumps, outR, errR)
	if len(msg) > 0 {
		<-p.done
		return p, &startError{msg: string(msg)}
	}
	return p, nil
}

// wait reaps the process, then kills what is left of its process group (in
// a real container everything dies with its first process), and drains the
// output: at most 2 s more for descendants that left the group.
func (p *process) wait(cmd *exec.Cmd, pumps *sync.WaitGroup, readers ...*os.File) {
	_ = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	p.mu.Lock()
	p.exited = true
	p.finishedAt = time.Now()
	switch {
	case ws.Signaled():
		p.signal = int32(ws.Signal())
		p.exitCode = 128 + p.signal
	default:
		p.exitCode = int32(ws.ExitStatus())
	}
	// No process can take the group's id while any member lives, so this
	// cannot hit a stranger.
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	killNamespace(p.mntNS)
	if p.nsRef != nil {
		_ = p.nsRef.Close()
	}
	p.mu.Unlock()
	drained := make(chan struct{})
	go func() { pumps.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
	}
	for _, r := range readers {
		_ = r.Close()
	}
	<-drained
	close(p.done)
}

// kill signals the whole process group, unless the process is gone; SIGKILL
// also reaches whatever else runs in the container's mount namespace.
func (p *process) kill(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.exited {
		_ = syscall.Kill(-p.pid, sig)
		if sig == syscall.SIGKILL {
			killNamespace(p.mntNS)
		}
	}
}

// mountNamespace is the "mnt:[inode]" link of a process, or "".
func mountNamespace(pid int) string {
	s, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	return s
}

// killNamespace SIGKILLs every process in mount namespace ns (never the
// agent's own), again while it finds some (they may be forking).
func killNamespace(ns string) {
	if ns == "" || ns == mountNamespace(os.Getpid()) {
		return
	}
	for range 5 {
		found := false
		for _, pid := range procPIDs() {
			if mountNamespace(pid) == ns {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				found = true
			}
		}
		if !found {
			return
		}
	}
}

// procPIDs lists the processes in /proc.
func procPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 1 {
			out = append(out, pid)
		}
	}
	return out
}

// killStrays SIGKILLs processes left from containers of an earlier agent
// (one killed with SIGKILL, whose Pdeathsig did not reach its containers'
// own children): those whose root folder lies under rootDir.
func killStrays(rootDir string) {
	prefix := filepath.Clean(rootDir) + "/"
	for _, pid := range procPIDs() {
		if root, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/root"); err == nil && strings.HasPrefix(root, prefix) {
			logf("killing pid %d, left from an earlier agent (root %s)", pid, root)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// stop is the kubelet's container kill: SIGTERM, then SIGKILL once grace has
// passed or hurry is closed. It returns when the process is gone.
func (p *process) stop(grace time.Duration, hurry <-chan struct{}) {
	p.kill(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	case <-hurry:
	}
	p.kill(syscall.SIGKILL)
	<-p.done
}

// result returns the exit code, the signal (0 if none) and when it ended.
func (p *process) result() (int32, int32, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitCode, p.signal, p.finishedAt
}
