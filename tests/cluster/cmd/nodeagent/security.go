package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// credentials is how a container runs: the securityContext, with the
// defaults a runtime would take from the image's /etc/passwd and /etc/group
// (the host's here, as the host's /etc is the image's).
type credentials struct {
	uid, gid     *int64
	groups       []int64
	setGroups    bool
	home         string
	noNewPrivs   bool
	readOnlyRoot bool
}

func credentialsFor(pod *v1.Pod, c *v1.Container) (credentials, error) {
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
	nonRoot := csc.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	if isTrue(nonRoot) {
		who := fmt.Sprintf("(pod: %q, container: %s)", pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")", c.Name)
		if cr.uid == nil {
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
	user, found := lookupUser(uid)
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
			cr.groups = append(cr.groups, groupsOf(user.name)...)
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
	name string
	gid  int64
	home string
}

// lookupUser finds uid in /etc/passwd.
func lookupUser(uid int64) (passwdEntry, bool) {
	f, err := os.Open("/etc/passwd")
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
		if u, err := strconv.ParseInt(p[2], 10, 64); err == nil && u == uid {
			g, _ := strconv.ParseInt(p[3], 10, 64)
			return passwdEntry{name: p[0], gid: g, home: p[5]}, true
		}
	}
	return passwdEntry{}, false
}

// groupsOf lists the groups in /etc/group that name is a member of.
func groupsOf(name string) []int64 {
	f, err := os.Open("/etc/group")
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
