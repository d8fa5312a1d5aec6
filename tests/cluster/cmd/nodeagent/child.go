package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// The container "runtime": the agent starts `nodeagent exec-container` (its
// own binary again) in a new, private mount namespace (and a UTS namespace
// for the pod's hostname). That child builds the container's root in the
// per-container folder, chroots into it, drops privileges and execs the
// container's command. Every mount lives only in the child's namespace, so
// the host's filesystem is never changed: mount points are created inside
// the per-container root, and a missing mount point below a read-only host
// folder (say /usr/local/bin/lifeboat or /etc/lifeboat/config) is made by
// "shadowing" that folder with a tmpfs that re-binds each of its entries.
//
// The protocol with the agent: the spec (JSON) arrives on fd 3; fd 4 is the
// "sync" pipe, close-on-exec: if exec succeeds the agent reads EOF, and if
// anything fails the child writes the error there and exits 128, which the
// agent reports as terminated reason StartError, as containerd does.

// containerSpec is everything exec-container needs.
type containerSpec struct {
	Root         string      `json:"root"`                // per-container root folder, on the host
	Hostname     string      `json:"hostname,omitempty"`  // "" keeps the host's (hostNetwork pods)
	HostDirs     []string    `json:"hostDirs"`            // host folders bound read-only at the same path (symlinks copied)
	ImageRoot    string      `json:"imageRoot,omitempty"` // a rootfs image: its top-level entries bound read-only instead of HostDirs
	Mounts       []mountSpec `json:"mounts"`              // bound in this order
	ReadOnlyRoot bool        `json:"readOnlyRoot,omitempty"`
	WorkingDir   string      `json:"workingDir,omitempty"`
	Argv         []string    `json:"argv"`
	Env          []string    `json:"env"`
	UID          *int64      `json:"uid,omitempty"`
	GID          *int64      `json:"gid,omitempty"`
	Groups       []int64     `json:"groups,omitempty"` // supplementary groups, set when UID or GID is
	SetGroups    bool        `json:"setGroups,omitempty"`
	NoNewPrivs   bool        `json:"noNewPrivs,omitempty"`
	ParentPID    int         `json:"parentPID"`
}

// mountSpec is one bind mount: Source on the host, Target inside the root.
type mountSpec struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// execContainerMain is `nodeagent exec-container`. It only returns on failure.
func execContainerMain() int {
	syncPipe := os.NewFile(4, "sync")
	fail := func(err error) int {
		if syncPipe != nil {
			_, _ = fmt.Fprintf(syncPipe, "%v", err)
		}
		fmt.Fprintf(os.Stderr, "nodeagent exec-container: %v\n", err)
		return 128
	}
	var spec containerSpec
	specPipe := os.NewFile(3, "spec")
	if specPipe == nil {
		return fail(errors.New("no spec on fd 3"))
	}
	if err := json.NewDecoder(specPipe).Decode(&spec); err != nil {
		return fail(fmt.Errorf("reading the container spec: %w", err))
	}
	_ = specPipe.Close()
	if err := setupAndExec(&spec); err != nil {
		return fail(err)
	}
	return 0 // not reached
}

// rootfs builds one container root.
type rootfs struct {
	root     string
	src      string   // where hostDirs come from: "" for the host, else the image root
	hostDirs []string // folders bound read-only from src (container paths; the only ones that may be shadowed)
	mounted  []string // in-root targets of spec mounts so far
	shadows  []string // tmpfs shadows, made read-only at the end
	readOnly []string // binds to remount read-only once everything is in place
}

func setupAndExec(spec *containerSpec) error {
	if len(spec.Argv) == 0 {
		return errors.New("no command")
	}
	// Go's Unshareflags already made / private (MS_REC|MS_PRIVATE); again, to
	// be sure nothing propagates back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	r := &rootfs{root: filepath.Clean(spec.Root)}
	if err := os.MkdirAll(r.root, 0o755); err != nil {
		return err
	}
	// The root is a mount of its own so that it can be made read-only.
	if err := unix.Mount(r.root, r.root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding the root: %w", err)
	}
	for _, d := range spec.HostDirs {
		if err := r.hostDir(d); err != nil {
			return fmt.Errorf("host folder %s: %w", d, err)
		}
	}
	if spec.ImageRoot != "" {
		if err := r.imageRoot(spec.ImageRoot); err != nil {
			return fmt.Errorf("image root %s: %w", spec.ImageRoot, err)
		}
	}
	if err := r.dev(); err != nil {
		return fmt.Errorf("/dev: %w", err)
	}
	if err := r.mkdir("/proc"); err != nil {
		return err
	}
	if err := unix.Mount("proc", filepath.Join(r.root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	if err := r.mkdir("/sys"); err != nil {
		return err
	}
	if err := r.bind("/sys", filepath.Join(r.root, "sys"), true); err != nil {
		return fmt.Errorf("/sys: %w", err)
	}
	for _, d := range []string{"/run", "/var", "/root", "/home"} {
		if err := r.mkdir(d); err != nil {
			return err
		}
	}
	for _, m := range spec.Mounts {
		if err := r.mount(m); err != nil {
			return fmt.Errorf("mounting %s at %s: %w", m.Source, m.Target, err)
		}
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("sethostname: %w", err)
		}
	}
	wd := spec.WorkingDir
	if wd == "" {
		wd = "/"
	}
	wdHost, err := securejoin.SecureJoin(r.root, wd)
	if err != nil {
		return err
	}
	if err := r.ensure(wdHost, true); err != nil {
		return fmt.Errorf("working directory %s: %w", wd, err)
	}
	if err := r.finish(spec.ReadOnlyRoot); err != nil {
		return err
	}
	if err := unix.Chroot(r.root); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir(wd); err != nil {
		return fmt.Errorf("chdir to %s: %w", wd, err)
	}
	if err := dropPrivileges(spec); err != nil {
		return err
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range spec.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	argv0, err := lookPath(spec.Argv[0], path)
	if err != nil {
		return fmt.Errorf("failed to start container process: %w", err)
	}
	unix.CloseOnExec(4)
	err = unix.Exec(argv0, spec.Argv, spec.Env)
	return fmt.Errorf("failed to start container process: exec: %q: %w", spec.Argv[0], err)
}

// dropPrivileges applies runAsUser/runAsGroup/supplementary groups and
// allowPrivilegeEscalation=false, then re-arms the parent-death signal, which
// the kernel clears when credentials change.
func dropPrivileges(spec *containerSpec) error {
	if spec.SetGroups {
		groups := make([]int, len(spec.Groups))
		for i, g := range spec.Groups {
			groups[i] = int(g)
		}
		if err := syscall.Setgroups(groups); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
	}
	if spec.GID != nil {
		if err := syscall.Setgid(int(*spec.GID)); err != nil {
			return fmt.Errorf("setgid %d: %w", *spec.GID, err)
		}
	}
	if spec.UID != nil {
		if err := syscall.Setuid(int(*spec.UID)); err != nil {
			return fmt.Errorf("setuid %d: %w", *spec.UID, err)
		}
	}
	if spec.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("pdeathsig: %w", err)
	}
	if spec.ParentPID != 0 && os.Getppid() != spec.ParentPID {
		return errors.New("the node agent exited")
	}
	return nil
}

// lookPath finds file as execvp would, in the (chrooted) filesystem.
func lookPath(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		if err := executable(file); err != nil {
			return "", fmt.Errorf("exec: %q: %w", file, err)
		}
		return file, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		if os.IsNotExist(err) {
			return errors.New("no such file or directory")
		}
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return errors.New("permission denied")
	}
	return nil
}

// mkdir creates an in-root folder (given as a container path) in the root's
// own, writable, filesystem.
func (r *rootfs) mkdir(p string) error {
	return os.MkdirAll(filepath.Join(r.root, p), 0o755)
}

// imageRoot lays an image's root folder into the container root: each of
// its top-level entries as hostDir does with the host's folders (folders and
// files bound read-only, symlinks copied), so the container root stays
// writable for mount points and a shadow can cover any image folder.
func (r *rootfs) imageRoot(dir string) error {
	r.src = filepath.Clean(dir)
	entries, err := os.ReadDir(r.src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := r.hostDir("/" + e.Name()); err != nil {
			return fmt.Errorf("/%s: %w", e.Name(), err)
		}
	}
	return nil
}

// hostDir binds a host folder (or, for an image root, an entry of it)
// read-only at the same path, or copies it when it is a symlink (Debian's
// merged /usr: /bin -> usr/bin, /lib64 -> usr/lib64).
func (r *rootfs) hostDir(d string) error {
	fi, err := os.Lstat(r.src + d)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	in := filepath.Join(r.root, d)
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(r.src + d)
		if err != nil {
			return err
		}
		if old, err := os.Readlink(in); err == nil {
			if old == target {
				return nil
			}
			if err := os.Remove(in); err != nil {
				return err
			}
		}
		_ = os.Remove(in) // an empty folder left by an older layout
		return os.Symlink(target, in)
	}
	if !fi.IsDir() {
		if r.src == "" || !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.OpenFile(in, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_ = f.Close()
		return r.bind(r.src+d, in, true)
	}
	if err := os.MkdirAll(in, 0o755); err != nil {
		return err
	}
	r.hostDirs = append(r.hostDirs, filepath.Clean(d))
	return r.bind(r.src+d, in, true)
}

// bind bind-mounts src (recursively) at dst, read-only if ro.
func (r *rootfs) bind(src, dst string, ro bool) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if ro {
		return remountReadOnly(dst)
	}
	return nil
}

func remountReadOnly(dst string) error {
	// Keep the flags the mount already has (nosuid, nodev, noexec): some
	// kernels refuse a remount that would drop them.
	var st unix.Statfs_t
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	if err := unix.Statfs(dst, &st); err == nil {
		for _, f := range []struct{ st, ms int64 }{
			{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
			{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
		} {
			if st.Flags&f.st != 0 {
				flags |= uintptr(f.ms)
			}
		}
	}
	if err := unix.Mount("", dst, "", flags, ""); err != nil {
		return fmt.Errorf("remounting %s read-only: %w", dst, err)
	}
	return nil
}

// dev makes /dev a tmpfs holding binds of the host's basic device nodes, a
// private devpts and a /dev/shm. A bind of the host's whole /dev would not
// do: the mount point of /dev/termination-log would be created in it.
func (r *rootfs) dev() error {
	dev := filepath.Join(r.root, "dev")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return err
	}
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		p := filepath.Join(dev, n)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			return err
		}
		_ = f.Close()
		if err := unix.Mount("/dev/"+n, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("binding /dev/%s: %w", n, err)
		}
	}
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx", "core": "/proc/kcore",
	} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	pts := filepath.Join(dev, "pts")
	if err := os.Mkdir(pts, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		if err := unix.Mount("/dev/pts", pts, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("devpts: %w", err)
		}
	}
	shm := filepath.Join(dev, "shm")
	if err := os.Mkdir(shm, 0o777|os.ModeSticky); err != nil {
		return err
	}
	return unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k")
}

// mount binds one spec mount at its target, resolved inside the root (so
// symlinks in the root cannot lead outside it).
func (r *rootfs) mount(m mountSpec) error {
	fi, err := os.Stat(m.Source)
	if err != nil {
		return err
	}
	target, err := securejoin.SecureJoin(r.root, m.Target)
	if err != nil {
		return err
	}
	if err := r.ensure(target, fi.IsDir()); err != nil {
		return err
	}
	if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	r.mounted = append(r.mounted, target)
	if m.ReadOnly {
		r.readOnly = append(r.readOnly, target)
	}
	return nil
}

// ensure makes p (a host path inside the root) exist as a folder (dir) or a
// file, to serve as a mount point. Where it would have to be created in a
// read-only host folder, that folder is shadowed first.
func (r *rootfs) ensure(p string, dir bool) error {
	fi, err := os.Lstat(p)
	if err == nil {
		if fi.IsDir() != dir {
			if dir {
				return fmt.Errorf("%s exists and is not a directory", strings.TrimPrefix(p, r.root))
			}
			return fmt.Errorf("%s is a directory, cannot mount a file there", strings.TrimPrefix(p, r.root))
		}
		return nil
	}
	if !os.IsNotExist(err) {
		return err
	}
	parent := filepath.Dir(p)
	if parent == p || !strings.HasPrefix(parent, r.root) {
		return fmt.Errorf("%s is outside the root", p)
	}
	if err := r.ensure(parent, true); err != nil {
		return err
	}
	create := func() error {
		if dir {
			return os.Mkdir(p, 0o755)
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			err = f.Close()
		}
		return err
	}
	err = create()
	if errors.Is(err, syscall.EROFS) {
		if err := r.shadow(parent); err != nil {
			return err
		}
		err = create()
	}
	if os.IsExist(err) {
		return nil
	}
	return err
}

// shadow covers dir, part of a read-only host (or image) folder, with a tmpfs
// that re-creates its entries (folders and files bound read-only from there,
// symlinks copied), so new mount points can be made in it. The tmpfs turns
// read-only in finish.
func (r *rootfs) shadow(dir string) error {
	host := "/" + strings.TrimPrefix(strings.TrimPrefix(dir, r.root), "/")
	under := false
	for _, h := range r.hostDirs {
		if host == h || strings.HasPrefix(host, h+"/") {
			under = true
		}
	}
	for _, m := range r.mounted {
		if dir == m || strings.HasPrefix(dir, m+"/") {
			under = false // inside a read-only volume: nothing to copy from
		}
	}
	if !under {
		return fmt.Errorf("cannot create a mount point in read-only %s", host)
	}
	host = r.src + host // where its entries come from
	hfi, err := os.Stat(host)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(host)
	if err != nil {
		return err
	}
	opts := fmt.Sprintf("mode=%o", hfi.Mode().Perm())
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("shadowing %s: %w", host, err)
	}
	r.shadows = append(r.shadows, dir)
	for _, e := range entries {
		src, dst := filepath.Join(host, e.Name()), filepath.Join(dir, e.Name())
		info, err := os.Lstat(src)
		if err != nil {
			continue
		}
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
		case info.IsDir():
			if err := os.Mkdir(dst, info.Mode().Perm()); err != nil {
				return err
			}
			if err := r.bind(src, dst, true); err != nil {
				return fmt.Errorf("re-binding %s: %w", src, err)
			}
		default:
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			_ = f.Close()
			if err := r.bind(src, dst, true); err != nil {
				return fmt.Errorf("re-binding %s: %w", src, err)
			}
		}
	}
	return nil
}

// finish turns read-only what must be: read-only spec mounts, the shadows
// and, with readOnlyRootFilesystem, the root itself.
func (r *rootfs) finish(readOnlyRoot bool) error {
	for _, p := range r.readOnly {
		if err := remountReadOnly(p); err != nil {
			return err
		}
	}
	for _, p := range r.shadows {
		if err := remountReadOnly(p); err != nil {
			return err
		}
	}
	if readOnlyRoot {
		return remountReadOnly(r.root)
	}
	return nil
}
