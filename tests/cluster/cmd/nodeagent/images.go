package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// There is no registry and no container runtime here, so an "image" is
// either a binary of the host or an unpacked image root filesystem. The
// image table says which stands for which image:
//   --image-map NAME=PATH[:ENTRY]          the binary PATH, bound at ENTRY into
//                                          a root made of the host's folders
//   --image-map NAME=rootfs:DIR[:CONFIG]   the image's whole root is DIR (say a
//                                          `buildah mount` folder), its
//                                          ENTRYPOINT, CMD, ENV, USER and
//                                          WORKDIR read from CONFIG
// An image not in the table runs its container's command from the host's
// own tools.

// imageEntry is one --image-map entry.
type imageEntry struct {
	Name  string // matched against image references, see lookup
	Path  string // the binary on the host; for a rootfs image its root folder
	Entry string // where the binary appears inside the container's root (not for rootfs)

	Rootfs bool         // NAME=rootfs:DIR[:CONFIG]
	Config string       // CONFIG, "" for none
	Image  *imageConfig // CONFIG's content (an empty config without one)
}

func (e imageEntry) String() string {
	if e.Rootfs {
		s := e.Name + "=rootfs:" + e.Path
		if e.Config != "" {
			s += ":" + e.Config
		}
		return s
	}
	return e.Name + "=" + e.Path + ":" + e.Entry
}

// imageConfig is what a runtime takes from an image's configuration.
type imageConfig struct {
	Entrypoint []string `json:"Entrypoint"`
	Cmd        []string `json:"Cmd"`
	Env        []string `json:"Env"`
	User       string   `json:"User"`
	WorkingDir string   `json:"WorkingDir"`
	ID         string   `json:"-"` // sha256:<hex>, the image ID (the digest of its config)
}

// loadImageConfig reads CONFIG: the JSON `buildah inspect --type image`
// prints (OCIv1.config, and FromImageID as the image ID), an OCI image
// configuration ({"config": {...}}; its sha256 is the image ID), or
// `docker inspect`'s (a one-element array with Config and Id).
func loadImageConfig(file string) (*imageConfig, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if t := strings.TrimSpace(string(data)); strings.HasPrefix(t, "[") {
		var arr []json.RawMessage
		if err := json.Unmarshal(data, &arr); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(arr) != 1 {
			return nil, fmt.Errorf("%s: an array of %d images, want one", file, len(arr))
		}
		data = arr[0]
	}
	// Keys matched exactly (encoding/json would take buildah's "Config", a
	// string, for an OCI config's "config").
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(doc[k], &v)
		return v
	}
	var raw json.RawMessage
	id := ""
	if oci, ok := doc["OCIv1"]; ok {
		var o map[string]json.RawMessage
		if err := json.Unmarshal(oci, &o); err != nil {
			return nil, fmt.Errorf("%s: OCIv1: %w", file, err)
		}
		raw, id = o["config"], str("FromImageID")
	} else if c, ok := doc["config"]; ok {
		raw = c
		sum := sha256.Sum256(data)
		id = hex.EncodeToString(sum[:])
	} else if c, ok := doc["Config"]; ok && len(c) > 0 && c[0] == '{' {
		raw, id = c, str("Id")
	}
	if raw == nil {
		return nil, fmt.Errorf("%s: no image configuration in it (want buildah inspect's JSON or an OCI image config)", file)
	}
	c := &imageConfig{}
	if string(raw) != "null" {
		if err := json.Unmarshal(raw, c); err != nil {
			return nil, fmt.Errorf("%s: the image configuration: %w", file, err)
		}
	}
	if id != "" && !strings.HasPrefix(id, "sha256:") {
		id = "sha256:" + id
	}
	c.ID = id
	return c, nil
}

// imageArgv is the command line a runtime starts: a container's command
// replaces the image's ENTRYPOINT and drops its CMD; its args replace CMD.
func imageArgv(img *imageConfig, command, args []string) []string {
	if len(command) > 0 {
		return append(append([]string{}, command...), args...)
	}
	var ep, cmd []string
	if img != nil {
		ep, cmd = img.Entrypoint, img.Cmd
	}
	if len(args) > 0 {
		cmd = args
	}
	return append(append([]string{}, ep...), cmd...)
}

// imageUser resolves an image's USER (uid, uid:gid, name or name:group) with
// the image's own /etc/passwd and /etc/group (under etc). nil, nil: no USER.
func imageUser(user, etc string) (uid, gid *int64, err error) {
	if user == "" {
		return nil, nil, nil
	}
	u, g, hasGroup := strings.Cut(user, ":")
	if u == "" || (hasGroup && g == "") {
		return nil, nil, fmt.Errorf("image USER %q: want uid[:gid] or name[:group]", user)
	}
	if n, err := strconv.ParseInt(u, 10, 64); err == nil && n >= 0 {
		uid = &n
	} else {
		p, ok := lookupUserIn(filepath.Join(etc, "passwd"), func(f []string) bool { return f[0] == u })
		if !ok {
			return nil, nil, fmt.Errorf("image USER %q: no user %q in the image's /etc/passwd", user, u)
		}
		uid = &p.uid
		if !hasGroup {
			gid = &p.gid
		}
	}
	if hasGroup {
		if n, err := strconv.ParseInt(g, 10, 64); err == nil && n >= 0 {
			gid = &n
		} else if n, ok := lookupGroupIn(filepath.Join(etc, "group"), g); ok {
			gid = &n
		} else {
			return nil, nil, fmt.Errorf("image USER %q: no group %q in the image's /etc/group", user, g)
		}
	}
	return uid, gid, nil
}

// mergeEnv is the image's ENV overridden by the container's variables (both
// NAME=VALUE); the image's order first, then the container's new names.
func mergeEnv(image, container []string) []string {
	over := map[string]string{}
	var order []string
	for _, kv := range container {
		k, _, _ := strings.Cut(kv, "=")
		if _, dup := over[k]; !dup {
			order = append(order, k)
		}
		over[k] = kv
	}
	out := make([]string, 0, len(image)+len(container))
	done := map[string]bool{}
	for _, kv := range image {
		k, _, _ := strings.Cut(kv, "=")
		if done[k] {
			continue
		}
		done[k] = true
		if c, ok := over[k]; ok {
			out = append(out, c)
		} else {
			out = append(out, kv)
		}
	}
	for _, k := range order {
		if !done[k] {
			out = append(out, over[k])
		}
	}
	return out
}

// parseImageEntry parses NAME=PATH[:ENTRY] or NAME=rootfs:DIR[:CONFIG].
// ENTRY and CONFIG must be absolute, which is how they are told apart from a
// colon inside PATH or DIR; ENTRY defaults to /usr/local/bin/<basename of
// PATH>. CONFIG is read here, so a bad one stops the agent at start-up.
func parseImageEntry(s string) (imageEntry, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return imageEntry{}, fmt.Errorf("image map %q: want NAME=PATH[:ENTRY] or NAME=rootfs:DIR[:CONFIG]", s)
	}
	if dir, ok := strings.CutPrefix(rest, "rootfs:"); ok {
		return parseRootfsEntry(s, name, dir)
	}
	e := imageEntry{Name: name, Path: rest}
	if i := strings.LastIndex(rest, ":/"); i > 0 {
		e.Path, e.Entry = rest[:i], rest[i+1:]
	}
	if !filepath.IsAbs(e.Path) {
		abs, err := filepath.Abs(e.Path)
		if err != nil {
			return imageEntry{}, err
		}
		e.Path = abs
	}
	if e.Entry == "" {
		e.Entry = "/usr/local/bin/" + filepath.Base(e.Path)
	}
	e.Entry = path.Clean(e.Entry)
	if e.Entry == "/" {
		return imageEntry{}, fmt.Errorf("image map %q: ENTRY must name a file", s)
	}
	return e, nil
}

func parseRootfsEntry(s, name, rest string) (imageEntry, error) {
	e := imageEntry{Name: name, Rootfs: true, Path: rest, Image: &imageConfig{}}
	if i := strings.LastIndex(rest, ":/"); i > 0 {
		e.Path, e.Config = rest[:i], rest[i+1:]
	}
	if e.Path == "" {
		return imageEntry{}, fmt.Errorf("image map %q: want NAME=rootfs:DIR[:CONFIG]", s)
	}
	abs, err := filepath.Abs(e.Path)
	if err != nil {
		return imageEntry{}, err
	}
	e.Path = abs
	if e.Path == "/" {
		return imageEntry{}, fmt.Errorf("image map %q: the host's / is not an image root", s)
	}
	if e.Config != "" {
		e.Config = filepath.Clean(e.Config)
		c, err := loadImageConfig(e.Config)
		if err != nil {
			return imageEntry{}, fmt.Errorf("image map %q: %w", s, err)
		}
		e.Image = c
	}
	return e, nil
}

// imageBaseName is the last path component of an image reference without
// its tag or digest: ghcr.io/x/lifeboat-job:0.1.0@sha256:ab.. -> lifeboat-job.
func imageBaseName(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	if i := strings.Index(ref, ":"); i >= 0 {
		ref = ref[:i]
	}
	return ref
}

// lookup finds the entry for an image reference: an entry whose NAME is the
// whole reference wins, then one whose NAME is the reference's base name.
func (t imageTable) lookup(ref string) (imageEntry, bool) {
	for _, e := range t {
		if e.Name == ref {
			return e, true
		}
	}
	base := imageBaseName(ref)
	for _, e := range t {
		if e.Name == base {
			return e, true
		}
	}
	return imageEntry{}, false
}

// names lists the table's NAMEs, for messages.
func (t imageTable) names() string {
	if len(t) == 0 {
		return "(empty)"
	}
	n := make([]string, len(t))
	for i, e := range t {
		n[i] = e.Name
	}
	return strings.Join(n, ", ")
}

// imageIDs caches the digest of mapped binaries, keyed by path, size and
// modification time, so a rebuilt binary gets a new imageID.
var imageIDs struct {
	sync.Mutex
	m map[string]string
}

// imageID is what containerStatuses[].imageID reports: the reference without
// tag or digest, then @sha256: of the mapped binary (or of the reference for
// images run from host tools).
func imageID(ref string, e *imageEntry) string {
	repo := ref
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	if e == nil {
		sum := sha256.Sum256([]byte(ref))
		return repo + "@sha256:" + hex.EncodeToString(sum[:])
	}
	if e.Rootfs {
		if e.Image != nil && e.Image.ID != "" {
			return repo + "@" + e.Image.ID
		}
		sum := sha256.Sum256([]byte("rootfs:" + e.Path))
		return repo + "@sha256:" + hex.EncodeToString(sum[:])
	}
	fi, err := os.Stat(e.Path)
	if err != nil {
		return repo + "@sha256:unknown"
	}
	key := fmt.Sprintf("%s|%d|%d", e.Path, fi.Size(), fi.ModTime().UnixNano())
	imageIDs.Lock()
	defer imageIDs.Unlock()
	if id, ok := imageIDs.m[key]; ok {
		return repo + "@" + id
	}
	f, err := os.Open(e.Path)
	if err != nil {
		return repo + "@sha256:unknown"
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return repo + "@sha256:unknown"
	}
	id := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if imageIDs.m == nil {
		imageIDs.m = map[string]string{}
	}
	imageIDs.m[key] = id
	return repo + "@" + id
}
