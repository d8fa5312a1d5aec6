package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// credentials is how a container runs: the securityContext, with the
// defaults a runtime would take from the image's USER, /etc/passwd and
// /etc/group (the host's /etc for images made of host folders; the image's
// own for rootfs images).
type credentials struct {
	uid, gid     *int64
	groups       []int64
	setGroups    bool
	home         string
	noNewPrivs   bool
	readOnlyRoot bool
}

// imageDefaults is what an image brings to credentialsFor: its USER
// (resolved; nil for none) and the /etc its users are looked up in.
type imageDefaults struct {
	uid, gid *int64
	etc      string // "" is the host's /etc
}

func credentialsFor(pod *v1.Pod, c *v1.Container, img imageDefaults) (credentials, error) {
	var cr credentials
	psc := pod.Spec.SecurityContext
	if psc == nil {
		psc = &v1.PodSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &v1.SecurityContext{}
	}
	cr.uid = firstInt64(csc.RunAsUser, psc.RunAsUser)
	cr.gid = firstInt64(csc.RunAsGroup, psc.RunAsGroup)
	fromImage := false
	if cr.uid == nil && img.uid != nil {
		// The image's USER, as the runtime applies it (and its group, unless
		// runAsGroup says otherwise).
		cr.uid, fromImage = firstInt64(img.uid, nil), true
		if cr.gid == nil {
			cr.gid = firstInt64(img.gid, nil)
		}
	}
	nonRoot := csc.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	if isTrue(nonRoot) {
		who := fmt.Sprintf("(pod: %q, container: %s)", pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")", c.Name)
		if cr.uid == nil || (fromImage && *cr.uid == 0) {
			return cr, fmt.Errorf("container has runAsNonRoot and image will run as root %s", who)
		}
		if *cr.uid == 0 {
			return cr, fmt.Errorf("container's runAsUser breaks non-root policy %s", who)
		}
	}
	cr.noNewPrivs = csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation
	cr.readOnlyRoot = isTrue(csc.ReadOnlyRootFilesystem)

	uid := int64(0)
	if cr.uid != nil {
		uid = *cr.uid
	}
	etc := img.etc
	if etc == "" {
		etc = "/etc"
	}
	user, found := lookupUserIn(filepath.Join(etc, "passwd"), func(f []string) bool { return f[2] == strconv.FormatInt(uid, 10) })
	cr.home = "/"
	if found {
		cr.home = user.home
	}
	if cr.uid != nil && cr.gid == nil {
		g := int64(0)
		if found {
			g = user.gid
		}
		cr.gid = &g
	}
	if cr.uid != nil || cr.gid != nil || len(psc.SupplementalGroups) > 0 || psc.FSGroup != nil {
		cr.setGroups = true
		if found && (psc.SupplementalGroupsPolicy == nil || *psc.SupplementalGroupsPolicy == v1.SupplementalGroupsPolicyMerge) {
			cr.groups = append(cr.groups, groupsOf(filepath.Join(etc, "group"), user.name)...)
		}
		cr.groups = append(cr.groups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			cr.groups = append(cr.groups, *psc.FSGroup)
		}
		slices.Sort(cr.groups)
		cr.groups = slices.Compact(cr.groups)
	}
	return cr, nil
}

func firstInt64(a, b *int64) *int64 {
	if a != nil {
		v := *a
		return &v
	}
	if b != nil {
		v := *b
		return &v
	}
	return nil
}

type passwdEntry struct {
	name     string
	uid, gid int64
	home     string
}

// lookupUserIn finds the first line of a passwd file whose fields match.
func lookupUserIn(file string, match func(fields []string) bool) (passwdEntry, bool) {
	f, err := os.Open(file)
	if err != nil {
		return passwdEntry{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) < 7 {
			continue
		}
		u, err := strconv.ParseInt(p[2], 10, 64)
		if err != nil || !match(p) {
			continue
		}
		g, _ := strconv.ParseInt(p[3], 10, 64)
		return passwdEntry{name: p[0], uid: u, gid: g, home: p[5]}, true
	}
	return passwdEntry{}, false
}

// lookupGroupIn finds a group's ID by name in a group file.
func lookupGroupIn(file, name string) (int64, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) >= 3 && p[0] == name {
			if g, err := strconv.ParseInt(p[2], 10, 64); err == nil {
				return g, true
			}
		}
	}
	return 0, false
}

// groupsOf lists the groups in a group file that name is a member of.
func groupsOf(file, name string) []int64 {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) < 4 {
			continue
		}
		for _, m := range strings.Split(p[3], ",") {
			if m == name {
				if g, err := strconv.ParseInt(p[2], 10, 64); err == nil {
					out = append(out, g)
				}
			}
		}
	}
	return out
}
