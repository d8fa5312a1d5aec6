package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// Rootfs images: --image-map NAME=rootfs:DIR[:CONFIG].

func writeFile(t *testing.T, p, s string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// buildahInspect is the shape of `buildah inspect --type image` (trimmed).
// (Its "Config" is the raw configuration as a string, which must not be
// taken for an OCI config's "config".)
const buildahInspect = `{"Type":"buildah 0.0.1","FromImageID":"3a4bde1be980fb89ef2e59cc6a2245c050b4629a9b6726a06c3ee28160074674",
 "Config":"{\"created\":\"2026-12-01T18:41:00Z\"}","Docker":{"config":{"Entrypoint":["/wrong"]}},
 "OCIv1":{"created":"2026-12-01T18:41:00Z","config":{"User":"65532:65532","Env":["PATH=/usr/local/bin:/usr/bin:/bin"],
 "Entrypoint":["/usr/local/bin/lifeboat"],"WorkingDir":"/work","Labels":{"a":"b"}}}}`

func TestParseRootfsEntry(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "job.json"), buildahInspect)
	e, err := parseImageEntry("lifeboat-job=rootfs:/var/lib/x/vfs/dir/abc:" + cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Rootfs || e.Path != "/var/lib/x/vfs/dir/abc" || e.Config != cfg || e.Entry != "" {
		t.Errorf("entry %+v", e)
	}
	if !reflect.DeepEqual(e.Image.Entrypoint, []string{"/usr/local/bin/lifeboat"}) || e.Image.User != "65532:65532" ||
		e.Image.WorkingDir != "/work" || e.Image.ID != "sha256:3a4bde1be980fb89ef2e59cc6a2245c050b4629a9b6726a06c3ee28160074674" {
		t.Errorf("config %+v", e.Image)
	}
	if got := e.String(); got != "lifeboat-job=rootfs:/var/lib/x/vfs/dir/abc:"+cfg {
		t.Errorf("String() = %q", got)
	}
	// Without CONFIG: an empty configuration; a colon inside DIR stays.
	e, err = parseImageEntry("x=rootfs:/a:b/c")
	if err != nil || !e.Rootfs || e.Path != "/a:b/c" || e.Config != "" || e.Image == nil || len(e.Image.Entrypoint) != 0 {
		t.Errorf("no config: %+v, %v", e, err)
	}
	if e.String() != "x=rootfs:/a:b/c" {
		t.Errorf("String() = %q", e.String())
	}
	// A relative DIR is made absolute.
	e, err = parseImageEntry("x=rootfs:rel/dir")
	if err != nil || !filepath.IsAbs(e.Path) || !strings.HasSuffix(e.Path, "/rel/dir") {
		t.Errorf("relative: %+v, %v", e, err)
	}
	// The existing form is unchanged by the new one.
	e, err = parseImageEntry("lifeboat-job=/opt/build/lifeboat")
	if err != nil || e.Rootfs || e.Entry != "/usr/local/bin/lifeboat" {
		t.Errorf("binary entry: %+v, %v", e, err)
	}
	bad := writeFile(t, filepath.Join(dir, "bad.json"), `{"nothing": 1}`)
	notJSON := writeFile(t, filepath.Join(dir, "notjson"), `ENTRYPOINT ["x"]`)
	for in, want := range map[string]string{
		"x=rootfs:":                              "want NAME=rootfs:DIR[:CONFIG]",
		"x=rootfs:/":                             "the host's / is not an image root",
		"x=rootfs:/img:" + dir + "/missing.json": "no such file",
		"x=rootfs:/img:" + bad:                   "no image configuration in it",
		"x=rootfs:/img:" + notJSON:               "invalid character",
	} {
		_, err := parseImageEntry(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseImageEntry(%q) = %v, want an error with %q", in, err, want)
		}
	}
	// The flag takes rootfs entries among others.
	var table imageTable
	if err := table.Set("a=/bin/true, b=rootfs:/img/b:" + cfg); err != nil {
		t.Fatal(err)
	}
	if got, ok := table.lookup("ghcr.io/x/b:0.1.0-pg15"); !ok || !got.Rootfs || got.Path != "/img/b" {
		t.Errorf("lookup b: %+v %v", got, ok)
	}
}

func TestLoadImageConfigFormats(t *testing.T) {
	dir := t.TempDir()
	oci := `{"architecture":"amd64","config":{"Entrypoint":["/e"],"Cmd":["c"],"Env":["A=1"]}}`
	c, err := loadImageConfig(writeFile(t, filepath.Join(dir, "oci.json"), oci))
	if err != nil {
		t.Fatal(err)
	}
	// an OCI config's image ID is its own digest
	if c.ID != "sha256:"+sha256hex(oci) || !reflect.DeepEqual(c.Cmd, []string{"c"}) || c.Env[0] != "A=1" {
		t.Errorf("oci: %+v", c)
	}
	docker := `[{"Id":"sha256:abc","Config":{"Entrypoint":["/d"],"User":"1000"}}]`
	c, err = loadImageConfig(writeFile(t, filepath.Join(dir, "docker.json"), docker))
	if err != nil || c.ID != "sha256:abc" || c.Entrypoint[0] != "/d" || c.User != "1000" {
		t.Errorf("docker: %+v, %v", c, err)
	}
	if _, err := loadImageConfig(writeFile(t, filepath.Join(dir, "two.json"), `[{"Config":{}},{"Config":{}}]`)); err == nil ||
		!strings.Contains(err.Error(), "an array of 2 images") {
		t.Errorf("two images: %v", err)
	}
}

func TestImageArgv(t *testing.T) {
	img := &imageConfig{Entrypoint: []string{"/ep", "-x"}, Cmd: []string{"default"}}
	cases := []struct {
		command, args, want []string
	}{
		{nil, nil, []string{"/ep", "-x", "default"}},                         // ENTRYPOINT + CMD
		{nil, []string{"backup"}, []string{"/ep", "-x", "backup"}},           // args replace CMD
		{[]string{"/bin/other"}, nil, []string{"/bin/other"}},                // command drops ENTRYPOINT and CMD
		{[]string{"/bin/other"}, []string{"a"}, []string{"/bin/other", "a"}}, // command + args
	}
	for _, c := range cases {
		if got := imageArgv(img, c.command, c.args); !reflect.DeepEqual(got, c.want) {
			t.Errorf("imageArgv(%q, %q) = %q, want %q", c.command, c.args, got, c.want)
		}
	}
	if got := imageArgv(&imageConfig{}, nil, nil); len(got) != 0 {
		t.Errorf("nothing to run: %q", got)
	}
	if got := imageArgv(&imageConfig{Cmd: []string{"sh"}}, nil, []string{"ls"}); !reflect.DeepEqual(got, []string{"ls"}) {
		t.Errorf("CMD only, args: %q", got)
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/img/bin", "LANG=C", "X=img"}, []string{"X=ctr", "NEW=1", "X=ctr2"})
	want := []string{"PATH=/img/bin", "LANG=C", "X=ctr2", "NEW=1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
	if got := mergeEnv(nil, []string{"A=1"}); !reflect.DeepEqual(got, []string{"A=1"}) {
		t.Errorf("no image env: %q", got)
	}
}

func TestImageUser(t *testing.T) {
	etc := filepath.Join(t.TempDir(), "etc")
	writeFile(t, filepath.Join(etc, "passwd"), "root:x:0:0:root:/root:/sbin/nologin\nlifeboat:x:65532:65533:lb:/home/lb:/sbin/nologin\n")
	writeFile(t, filepath.Join(etc, "group"), "root:x:0:\nstaff:x:50:lifeboat\n")
	i := func(v int64) *int64 { return &v }
	for _, c := range []struct {
		user     string
		uid, gid *int64
	}{
		{"", nil, nil},
		{"65532", i(65532), nil},
		{"65532:65532", i(65532), i(65532)},
		{"lifeboat", i(65532), i(65533)}, // the name's group from passwd
		{"lifeboat:staff", i(65532), i(50)},
		{"1000:staff", i(1000), i(50)},
	} {
		uid, gid, err := imageUser(c.user, etc)
		if err != nil || !reflect.DeepEqual(uid, c.uid) || !reflect.DeepEqual(gid, c.gid) {
			t.Errorf("imageUser(%q) = %v, %v, %v; want %v, %v", c.user, p(uid), p(gid), err, p(c.uid), p(c.gid))
		}
	}
	for user, want := range map[string]string{
		"nobody":  `no user "nobody" in the image's /etc/passwd`,
		"1:wheel": `no group "wheel" in the image's /etc/group`,
		":5":      "want uid[:gid]",
		"65532:":  "want uid[:gid]",
	} {
		if _, _, err := imageUser(user, etc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("imageUser(%q): %v, want %q", user, err, want)
		}
	}
}

func p(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

func TestCredentialsWithImageUser(t *testing.T) {
	etc := filepath.Join(t.TempDir(), "etc")
	writeFile(t, filepath.Join(etc, "passwd"), "root:x:0:0:root:/root:/sbin/nologin\nlifeboat:x:65532:65532:lb:/home/lb:/sbin/nologin\n")
	writeFile(t, filepath.Join(etc, "group"), "lifeboat:x:65532:\nextra:x:70:lifeboat\n")
	i := func(v int64) *int64 { return &v }
	yes := true
	pod := &v1.Pod{}
	pod.Name, pod.Namespace = "p", "ns"
	img := imageDefaults{uid: i(65532), gid: i(65532), etc: etc}

	// The image's USER applies, with its home and groups from the image's /etc.
	cr, err := credentialsFor(pod, &v1.Container{Name: "c"}, img)
	if err != nil || p(cr.uid) != int64(65532) || p(cr.gid) != int64(65532) || cr.home != "/home/lb" ||
		!reflect.DeepEqual(cr.groups, []int64{70}) || !cr.setGroups {
		t.Errorf("image user: %+v (uid %v gid %v), %v", cr, p(cr.uid), p(cr.gid), err)
	}
	// runAsNonRoot is satisfied by a non-root image USER ...
	c := &v1.Container{Name: "c", SecurityContext: &v1.SecurityContext{RunAsNonRoot: &yes}}
	if _, err := credentialsFor(pod, c, img); err != nil {
		t.Errorf("runAsNonRoot with USER 65532: %v", err)
	}
	// ... not by a root one, nor by none.
	for _, d := range []imageDefaults{{uid: i(0), etc: etc}, {etc: etc}} {
		if _, err := credentialsFor(pod, c, d); err == nil || !strings.Contains(err.Error(), "image will run as root") {
			t.Errorf("runAsNonRoot with image uid %v: %v", p(d.uid), err)
		}
	}
	// runAsUser and runAsGroup win over the image's USER.
	c = &v1.Container{Name: "c", SecurityContext: &v1.SecurityContext{RunAsUser: i(0)}}
	cr, err = credentialsFor(pod, c, img)
	if err != nil || p(cr.uid) != int64(0) || p(cr.gid) != int64(0) || cr.home != "/root" {
		t.Errorf("runAsUser 0 over USER: uid %v gid %v home %s, %v", p(cr.uid), p(cr.gid), cr.home, err)
	}
	c = &v1.Container{Name: "c", SecurityContext: &v1.SecurityContext{RunAsGroup: i(9)}}
	cr, _ = credentialsFor(pod, c, img)
	if p(cr.uid) != int64(65532) || p(cr.gid) != int64(9) {
		t.Errorf("runAsGroup over USER's group: uid %v gid %v", p(cr.uid), p(cr.gid))
	}
}

func TestImageIDOfRootfs(t *testing.T) {
	e := imageEntry{Name: "j", Rootfs: true, Path: "/img", Image: &imageConfig{ID: "sha256:feed"}}
	if got := imageID("ghcr.io/x/lifeboat-job:0.1.0-pg15", &e); got != "ghcr.io/x/lifeboat-job@sha256:feed" {
		t.Errorf("imageID = %s", got)
	}
	e.Image = &imageConfig{}
	if got := imageID("j:1", &e); got != "j@sha256:"+sha256hex("rootfs:/img") {
		t.Errorf("imageID without config = %s", got)
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// copyFile copies a host file into an image root folder being made.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("%s: %v (the test image copies it from the host; Debian bookworm has it)", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// A container whose root is an image's root folder: the image's files (and
// none of the host's), read-only, in a root that still takes mount points
// (/etc/hosts over the image's /etc, a volume, /tmp), the image untouched.
func TestContainerImageRoot(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "image")
	// a tiny image: dash and the two libraries it needs, merged-usr links
	copyFile(t, "/usr/bin/dash", filepath.Join(img, "usr/bin/sh"))
	copyFile(t, "/lib/x86_64-linux-gnu/libc.so.6", filepath.Join(img, "usr/lib/x86_64-linux-gnu/libc.so.6"))
	copyFile(t, "/lib64/ld-linux-x86-64.so.2", filepath.Join(img, "usr/lib64/ld-linux-x86-64.so.2"))
	for l, target := range map[string]string{"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64"} {
		if err := os.Symlink(target, filepath.Join(img, l)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(img, "etc/marker"), "from-the-image\n")
	writeFile(t, filepath.Join(img, "etc/passwd"), "lifeboat:x:65532:65532::/nonexistent:/sbin/nologin\n")
	writeFile(t, filepath.Join(img, "top-file"), "top\n")
	before := listTree(t, img)

	vol := filepath.Join(dir, "vol")
	_ = os.MkdirAll(vol, 0o777)
	_ = os.Chmod(vol, 0o777)
	hosts := writeFile(t, filepath.Join(dir, "etc-hosts"), "127.0.0.1 localhost podname\n")
	tmp := filepath.Join(dir, "tmp")
	_ = os.MkdirAll(tmp, 0o1777)
	_ = os.Chmod(tmp, 0o1777)
	uid, gid := int64(65532), int64(65532)
	spec := &containerSpec{
		Root: filepath.Join(dir, "root"), ImageRoot: img, Hostname: "podname",
		Mounts: []mountSpec{
			{Source: tmp, Target: "/tmp"},
			{Source: hosts, Target: "/etc/hosts"},
			{Source: vol, Target: "/data"},
		},
		Argv: []string{"/bin/sh", "-c", `read l </etc/marker; echo "$l"; read h </etc/hosts; echo "hosts: $h"
read t </top-file; echo "top: $t"
[ -e /usr/bin/bash ] || echo no-host-bash
(echo x >/etc/marker) 2>/dev/null || echo image-ro
(echo x >/usr/new) 2>/dev/null || echo usr-ro
echo w >/data/f && echo vol-rw; echo t >/tmp/f && echo tmp-rw
while read k v rest; do [ "$k" = Uid: ] && echo "uid=$v"; done </proc/self/status; echo end`},
		Env: []string{"PATH=/usr/bin:/bin"},
		UID: &uid, GID: &gid, SetGroups: true,
	}
	out, code, err := runIn(t, spec)
	if err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	want := "from-the-image\nhosts: 127.0.0.1 localhost podname\ntop: top\nno-host-bash\nimage-ro\nusr-ro\nvol-rw\ntmp-rw\nuid=65532\nend\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if after := listTree(t, img); !reflect.DeepEqual(before, after) {
		t.Errorf("the image root changed:\nbefore %q\nafter  %q", before, after)
	}
	if b, _ := os.ReadFile(filepath.Join(img, "etc/marker")); string(b) != "from-the-image\n" {
		t.Errorf("the image's file changed: %q", b)
	}
	// a read-only root, and a missing command reported as the runtime does
	spec.ReadOnlyRoot, spec.Argv = true, []string{"/bin/sh", "-c", "(echo x >/new) 2>/dev/null || echo root-ro"}
	spec.Root = filepath.Join(dir, "root2")
	if out, code, err := runIn(t, spec); err != nil || code != 0 || out != "root-ro\n" {
		t.Errorf("read-only root: exit %d, %v, %q", code, err, out)
	}
	spec.Root, spec.Argv = filepath.Join(dir, "root3"), []string{"bash", "-c", "true"}
	if _, _, err := runIn(t, spec); err == nil || !strings.Contains(err.Error(), `exec: "bash": executable file not found in $PATH`) {
		t.Errorf("the host's bash is not in the image: %v", err)
	}
}

func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, strings.TrimPrefix(p, root)+" "+fi.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
