package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Volumes are folders: --root-dir/<pod uid>/volumes/<name> for emptyDir,
// secret, configMap, projected and downwardAPI (and generic ephemeral
// volumes, which no controller here would provision), --volumes-dir/<ns>/
// <claimName> for persistentVolumeClaim, the host path itself for hostPath.
// Containers see them through bind mounts in their own mount namespace.

// podVolume is one set-up volume.
type podVolume struct {
	name     string
	path     string // on the host: a folder, or a file for some hostPath types
	readOnly bool   // every mount of it is read-only (PVC readOnly, secret-like)

	// Projected volumes with service account tokens are re-rendered before
	// their tokens age: at refreshAt, by render.
	refreshAt time.Time
	render    func(ctx context.Context) (time.Time, error)
}

// payloadFile is one file of a secret, configMap, downwardAPI or projected
// volume.
type payloadFile struct {
	data []byte
	mode int32
}

// setupVolumes prepares every volume of the pod. A failure (a Secret not
// there yet) is retried by the caller, the pod staying ContainerCreating.
func (w *podWorker) setupVolumes(ctx context.Context) (map[string]*podVolume, error) {
	pod := w.currentPod()
	out := map[string]*podVolume{}
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		v, err := w.setupVolume(ctx, pod, vol)
		if err != nil {
			return nil, fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", vol.Name, err)
		}
		out[vol.Name] = v
	}
	return out, nil
}

func (w *podWorker) setupVolume(ctx context.Context, pod *v1.Pod, vol *v1.Volume) (*podVolume, error) {
	dir := filepath.Join(w.dir, "volumes", vol.Name)
	v := &podVolume{name: vol.Name, path: dir}
	fsGroup := podFSGroup(pod)
	src := vol.VolumeSource
	switch {
	case src.EmptyDir != nil, src.Ephemeral != nil:
		if err := mkdirMode(dir, 0o777); err != nil {
			return nil, err
		}
		applyFSGroup(dir, fsGroup, false)
	case src.HostPath != nil:
		if err := prepareHostPath(src.HostPath); err != nil {
			return nil, err
		}
		v.path = src.HostPath.Path
	case src.PersistentVolumeClaim != nil:
		claim := src.PersistentVolumeClaim.ClaimName
		if _, err := w.k.getPVC(ctx, pod.Namespace, claim); err != nil {
			return nil, err
		}
		v.path = filepath.Join(w.k.cfg.VolumesDir, pod.Namespace, claim)
		if err := os.MkdirAll(filepath.Dir(v.path), 0o755); err != nil {
			return nil, err
		}
		if err := os.Mkdir(v.path, 0o777); err == nil {
			_ = os.Chmod(v.path, 0o777)
		} else if !os.IsExist(err) {
			return nil, err
		}
		v.readOnly = src.PersistentVolumeClaim.ReadOnly
		applyFSGroup(v.path, fsGroup, false)
	case src.Secret != nil, src.ConfigMap != nil, src.DownwardAPI != nil, src.Projected != nil:
		v.readOnly = true // kubelet mounts these read-only
		v.render = func(ctx context.Context) (time.Time, error) {
			files, refresh, err := w.payloadFor(ctx, pod, vol)
			if err != nil {
				return time.Time{}, err
			}
			if files == nil { // optional and missing: an empty volume
				files = map[string]payloadFile{}
			}
			if err := writePayload(dir, files); err != nil {
				return time.Time{}, err
			}
			applyFSGroup(dir, fsGroup, true)
			return refresh, nil
		}
		refresh, err := v.render(ctx)
		if err != nil {
			return nil, err
		}
		v.refreshAt = refresh
	default:
		return nil, fmt.Errorf("this volume type is not supported by the node agent")
	}
	return v, nil
}

// prepareHostPath checks (or creates) a hostPath as its type asks.
func prepareHostPath(h *v1.HostPathVolumeSource) error {
	typ := v1.HostPathUnset
	if h.Type != nil {
		typ = *h.Type
	}
	fi, err := os.Stat(h.Path)
	exists := err == nil
	switch typ {
	case v1.HostPathUnset, v1.HostPathDirectoryOrCreate:
		if !exists {
			return os.MkdirAll(h.Path, 0o755)
		}
	case v1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		if fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", h.Path)
		}
	case v1.HostPathDirectory:
		if !exists || !fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", h.Path)
		}
	case v1.HostPathFile:
		if !exists || !fi.Mode().IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", h.Path)
		}
	case v1.HostPathSocket:
		if !exists || fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", h.Path)
		}
	case v1.HostPathCharDev:
		if !exists || fi.Mode()&os.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", h.Path)
		}
	case v1.HostPathBlockDev:
		if !exists || fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", h.Path)
		}
	}
	return nil
}

// payloadFor computes the files of a secret, configMap, downwardAPI or
// projected volume, and when its tokens need refreshing. nil files means an
// optional source is missing.
func (w *podWorker) payloadFor(ctx context.Context, pod *v1.Pod, vol *v1.Volume) (map[string]payloadFile, time.Time, error) {
	src := vol.VolumeSource
	switch {
	case src.Secret != nil:
		s := src.Secret
		files, err := w.secretFiles(ctx, pod, s.SecretName, s.Items, mode(s.DefaultMode), isTrue(s.Optional))
		return files, time.Time{}, err
	case src.ConfigMap != nil:
		c := src.ConfigMap
		files, err := w.configMapFiles(ctx, pod, c.Name, c.Items, mode(c.DefaultMode), isTrue(c.Optional))
		return files, time.Time{}, err
	case src.DownwardAPI != nil:
		files, err := w.downwardFiles(pod, src.DownwardAPI.Items, mode(src.DownwardAPI.DefaultMode))
		return files, time.Time{}, err
	}
	// Projected: the union of its sources.
	p := src.Projected
	def := mode(p.DefaultMode)
	all := map[string]payloadFile{}
	var refresh time.Time
	merge := func(files map[string]payloadFile) {
		for k, f := range files {
			all[k] = f
		}
	}
	for _, s := range p.Sources {
		switch {
		case s.Secret != nil:
			files, err := w.secretFiles(ctx, pod, s.Secret.Name, s.Secret.Items, def, isTrue(s.Secret.Optional))
			if err != nil {
				return nil, time.Time{}, err
			}
			merge(files)
		case s.ConfigMap != nil:
			files, err := w.configMapFiles(ctx, pod, s.ConfigMap.Name, s.ConfigMap.Items, def, isTrue(s.ConfigMap.Optional))
			if err != nil {
				return nil, time.Time{}, err
			}
			merge(files)
		case s.DownwardAPI != nil:
			files, err := w.downwardFiles(pod, s.DownwardAPI.Items, def)
			if err != nil {
				return nil, time.Time{}, err
			}
			merge(files)
		case s.ServiceAccountToken != nil:
			token, at, err := w.k.requestToken(ctx, pod, s.ServiceAccountToken)
			if err != nil {
				return nil, time.Time{}, err
			}
			all[s.ServiceAccountToken.Path] = payloadFile{data: []byte(token), mode: def}
			if refresh.IsZero() || at.Before(refresh) {
				refresh = at
			}
		default:
			return nil, time.Time{}, fmt.Errorf("projected source not supported by the node agent")
		}
	}
	return all, refresh, nil
}

func mode(m *int32) int32 {
	if m == nil {
		return 0o644
	}
	return *m
}

// projectKeys picks a Secret's or ConfigMap's keys as a volume does: all of
// them with the default mode, or the listed items (a missing key is an error
// unless the source is optional).
func projectKeys(kind, ns, name string, data map[string][]byte, items []v1.KeyToPath, def int32, optional bool) (map[string]payloadFile, error) {
	files := map[string]payloadFile{}
	if len(items) == 0 {
		for k, v := range data {
			files[k] = payloadFile{data: v, mode: def}
		}
		return files, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("%s references non-existent %s key: %s", kind, kind, it.Key)
		}
		m := def
		if it.Mode != nil {
			m = *it.Mode
		}
		files[it.Path] = payloadFile{data: v, mode: m}
	}
	return files, nil
}

func (w *podWorker) secretFiles(ctx context.Context, pod *v1.Pod, name string, items []v1.KeyToPath, def int32, optional bool) (map[string]payloadFile, error) {
	s, err := w.k.getSecret(ctx, pod.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return map[string]payloadFile{}, nil
		}
		return nil, err
	}
	return projectKeys("secret", pod.Namespace, name, s.Data, items, def, optional)
}

func (w *podWorker) configMapFiles(ctx context.Context, pod *v1.Pod, name string, items []v1.KeyToPath, def int32, optional bool) (map[string]payloadFile, error) {
	m, err := w.k.getConfigMap(ctx, pod.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional {
			return map[string]payloadFile{}, nil
		}
		return nil, err
	}
	data := map[string][]byte{}
	for k, v := range m.Data {
		data[k] = []byte(v)
	}
	for k, v := range m.BinaryData {
		data[k] = v
	}
	return projectKeys("configmap", pod.Namespace, name, data, items, def, optional)
}

func (w *podWorker) downwardFiles(pod *v1.Pod, items []v1.DownwardAPIVolumeFile, def int32) (map[string]payloadFile, error) {
	files := map[string]payloadFile{}
	podIPs, hostIP := w.ipsForEnv()
	for _, it := range items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = podFieldValue(it.FieldRef.FieldPath, pod, podIPs, hostIP)
		case it.ResourceFieldRef != nil:
			val, err = resourceFieldValue(it.ResourceFieldRef, pod, nil, w.k.node.allocatable())
		}
		if err != nil {
			return nil, err
		}
		m := def
		if it.Mode != nil {
			m = *it.Mode
		}
		files[it.Path] = payloadFile{data: []byte(val), mode: m}
	}
	return files, nil
}

// writePayload lays files out in dir as the kubelet's AtomicWriter does: the
// data lives in a timestamped folder "..<time>", "..data" links to it, and
// each top-level name is a symlink through ..data. An update writes a new
// folder and swaps ..data with one rename, so readers see old or new, never
// half of each.
func writePayload(dir string, files map[string]payloadFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ts, err := os.MkdirTemp(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05."))
	if err != nil {
		return err
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return err
	}
	top := map[string]bool{}
	for _, rel := range sortedKeys(files) {
		clean := filepath.Clean(rel)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, "..") {
			return fmt.Errorf("invalid path %q", rel)
		}
		p := filepath.Join(ts, clean)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f := files[rel]
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return err
		}
		if err := os.Chmod(p, fs.FileMode(f.mode)&fs.ModePerm); err != nil {
			return err
		}
		top[strings.SplitN(clean, "/", 2)[0]] = true
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmpLink := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(ts), tmpLink); err != nil {
		return err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	names := make([]string, 0, len(top))
	for n := range top {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		link := filepath.Join(dir, n)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join("..data", n) {
			continue
		}
		_ = os.RemoveAll(link)
		if err := os.Symlink(filepath.Join("..data", n), link); err != nil {
			return err
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "..") {
			if n != "..data" && n != filepath.Base(ts) && (old == "" || n == old) {
				_ = os.RemoveAll(filepath.Join(dir, n))
			}
			continue
		}
		if !top[n] {
			_ = os.RemoveAll(filepath.Join(dir, n))
		}
	}
	return nil
}

// podFSGroup is the pod's securityContext.fsGroup, if any.
func podFSGroup(pod *v1.Pod) *int64 {
	if pod.Spec.SecurityContext == nil {
		return nil
	}
	return pod.Spec.SecurityContext.FSGroup
}

// applyFSGroup gives a volume to the pod's fsGroup as the kubelet's
// SetVolumeOwnership does: group ownership, group read (and write for
// writable volumes), setgid folders.
func applyFSGroup(dir string, gid *int64, readOnly bool) {
	if gid == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		_ = os.Lchown(p, -1, int(*gid))
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		m := fi.Mode()
		add := fs.FileMode(0o040)
		if !readOnly {
			add = 0o060
		}
		if fi.IsDir() {
			add |= 0o010 | fs.ModeSetgid
		}
		_ = os.Chmod(p, m&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky)|add)
		return nil
	})
}

func mkdirMode(dir string, m fs.FileMode) error {
	if err := os.MkdirAll(dir, m); err != nil {
		return err
	}
	return os.Chmod(dir, m)
}

// requestToken asks the TokenRequest API for a token of the pod's service
// account bound to the pod, and says when to refresh it: at 80 % of its
// lifetime, as the kubelet does (and at least daily).
func (k *kubelet) requestToken(ctx context.Context, pod *v1.Pod, src *v1.ServiceAccountTokenProjection) (string, time.Time, error) {
	exp := int64(3600)
	if src.ExpirationSeconds != nil {
		exp = *src.ExpirationSeconds
	}
	tr := &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: &exp,
			BoundObjectRef: &authenticationv1.BoundObjectReference{
				Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID,
			},
		},
	}
	if src.Audience != "" {
		tr.Spec.Audiences = []string{src.Audience}
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	var out *authenticationv1.TokenRequest
	err := retryForbidden(ctx, func() error {
		var err error
		out, err = k.cs.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("failed to fetch token: %w", err)
	}
	return out.Status.Token, tokenRefreshAt(time.Now(), exp, out.Status.ExpirationTimestamp.Time), nil
}

// tokenRefreshAt is when a token issued now for requested seconds, expiring
// at expires (zero: unknown), is to be replaced: after 80 % of its lifetime,
// and at least daily.
func tokenRefreshAt(now time.Time, requested int64, expires time.Time) time.Time {
	ttl := time.Duration(requested) * time.Second
	if left := expires.Sub(now); !expires.IsZero() && left > 0 && left < ttl {
		ttl = left
	}
	ttl = min(ttl, 24*time.Hour)
	return now.Add(ttl * 8 / 10)
}
