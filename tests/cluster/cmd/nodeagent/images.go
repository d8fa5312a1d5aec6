package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// There is no registry and no container runtime here, so an "image" is a
// binary of the host. The image table (--image-map NAME=PATH[:ENTRY]) says
// which binary stands for which image; an image not in the table runs its
// container's command from the host's own tools.

// imageEntry is one --image-map NAME=PATH[:ENTRY].
type imageEntry struct {
	Name  string // matched against image references, see lookup
	Path  string // the binary on the host
	Entry string // where the binary appears inside the container's root
}

func (e imageEntry) String() string { return e.Name + "=" + e.Path + ":" + e.Entry }

// parseImageEntry parses NAME=PATH[:ENTRY]. ENTRY must be absolute, which is
// how it is told apart from a colon inside PATH; it defaults to
// /usr/local/bin/<basename of PATH>.
func parseImageEntry(s string) (imageEntry, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return imageEntry{}, fmt.Errorf("image map %q: want NAME=PATH[:ENTRY]", s)
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
