package main

import (
	"context"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeObjects serves Secrets and ConfigMaps from maps, counting reads.
type fakeObjects struct {
	secrets    map[string]*v1.Secret
	configMaps map[string]*v1.ConfigMap
	reads      int
}

func (f *fakeObjects) getSecret(_ context.Context, _, name string) (*v1.Secret, error) {
	f.reads++
	if s, ok := f.secrets[name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(v1.Resource("secret"), name)
}

func (f *fakeObjects) getConfigMap(_ context.Context, _, name string) (*v1.ConfigMap, error) {
	f.reads++
	if m, ok := f.configMaps[name]; ok {
		return m, nil
	}
	return nil, apierrors.NewNotFound(v1.Resource("configmap"), name)
}

func testObjects() *fakeObjects {
	return &fakeObjects{
		secrets: map[string]*v1.Secret{
			"s1": {Data: map[string][]byte{"user": []byte("alice"), "password": []byte("s3cret")}},
		},
		configMaps: map[string]*v1.ConfigMap{
			"c1": {Data: map[string]string{"color": "blue", "size": "L"}},
		},
	}
}

func envMap(env []envVar) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return m
}

func ptr[T any](v T) *T { return &v }

func testPod(c v1.Container) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "p", Namespace: "ns", UID: "uid-1",
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"note": "hi"},
		},
		Spec: v1.PodSpec{NodeName: "node-a", ServiceAccountName: "sa", Containers: []v1.Container{c}},
	}
}

func TestResolveEnv(t *testing.T) {
	c := v1.Container{
		Name: "c",
		EnvFrom: []v1.EnvFromSource{
			{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "c1"}}, Prefix: "CM_"},
			{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "s1"}}},
			{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
		},
		Env: []v1.EnvVar{
			{Name: "user", Value: "overridden-by-env"},
			{Name: "A", Value: "a"},
			{Name: "B", Value: "$(A)-$(user)-$$(A)-$(NOPE)-$(KUBERNETES_SERVICE_HOST)"},
			{Name: "C", Value: "$(D)"}, // D comes later: not expanded
			{Name: "D", Value: "d"},
			{Name: "EMPTY"},
			{Name: "PW", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "s1"}, Key: "password"}}},
			{Name: "COLOR", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "c1"}, Key: "color"}}},
			{Name: "OPT", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "c1"}, Key: "nope", Optional: ptr(true)}}},
			{Name: "OPT2", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Key: "x", Optional: ptr(true)}}},
			{Name: "NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "NS", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "UID", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.uid"}}},
			{Name: "LABEL", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "ANN", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.annotations['note']"}}},
			{Name: "NODE", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "SA", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
			{Name: "HOST_IP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
			{Name: "POD_IP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "POD_IPS", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIPs"}}},
		},
	}
	pod := testPod(c)
	svc, err := serviceEnvFor("https://127.0.0.1:6443")
	if err != nil {
		t.Fatal(err)
	}
	env, err := resolveEnv(context.Background(), testObjects(), envContext{
		pod: pod, container: &pod.Spec.Containers[0], podIPs: []string{"127.0.1.7"}, hostIP: "127.0.0.1", serviceEnv: svc,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := envMap(env)
	want := map[string]string{
		"CM_color": "blue", "CM_size": "L", "password": "s3cret", "user": "overridden-by-env",
		"A": "a", "B": "a-overridden-by-env-$(A)-$(NOPE)-127.0.0.1", "C": "$(D)", "D": "d", "EMPTY": "",
		"PW": "s3cret", "COLOR": "blue", "NAME": "p", "NS": "ns", "UID": "uid-1", "LABEL": "web", "ANN": "hi",
		"NODE": "node-a", "SA": "sa", "HOST_IP": "127.0.0.1", "POD_IP": "127.0.1.7", "POD_IPS": "127.0.1.7",
		"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "6443", "KUBERNETES_SERVICE_PORT_HTTPS": "6443",
		"KUBERNETES_PORT": "tcp://127.0.0.1:6443", "KUBERNETES_PORT_6443_TCP": "tcp://127.0.0.1:6443",
		"KUBERNETES_PORT_6443_TCP_PROTO": "tcp", "KUBERNETES_PORT_6443_TCP_PORT": "6443", "KUBERNETES_PORT_6443_TCP_ADDR": "127.0.0.1",
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s=%q", k, got[k])
			}
		}
	}
	// Order: envFrom names first (as first set), env after, service last.
	if env[0].Name != "CM_color" || env[len(env)-1].Name != "KUBERNETES_SERVICE_PORT_HTTPS" {
		t.Errorf("order: first %s, last %s", env[0].Name, env[len(env)-1].Name)
	}
}

func TestResolveEnvErrors(t *testing.T) {
	cases := map[string]struct {
		env  v1.EnvVar
		from []v1.EnvFromSource
		want string
	}{
		"missing secret": {
			env:  v1.EnvVar{Name: "X", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Key: "k"}}},
			want: `secret "gone" not found`,
		},
		"missing key": {
			env:  v1.EnvVar{Name: "X", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "s1"}, Key: "nope"}}},
			want: "couldn't find key nope in Secret ns/s1",
		},
		"missing configmap key": {
			env:  v1.EnvVar{Name: "X", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "c1"}, Key: "nope"}}},
			want: "couldn't find key nope in ConfigMap ns/c1",
		},
		"missing envFrom": {
			from: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}}}},
			want: `configmap "gone" not found`,
		},
		"bad field": {
			env:  v1.EnvVar{Name: "X", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.nope"}}},
			want: "unsupported fieldPath: spec.nope",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := v1.Container{Name: "c", EnvFrom: tc.from}
			if tc.env.Name != "" {
				c.Env = []v1.EnvVar{tc.env}
			}
			pod := testPod(c)
			_, err := resolveEnv(context.Background(), testObjects(), envContext{pod: pod, container: &pod.Spec.Containers[0]})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestResolveEnvReadsEachObjectOnce(t *testing.T) {
	ref := func(key string) *v1.EnvVarSource {
		return &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "s1"}, Key: key}}
	}
	c := v1.Container{Name: "c", Env: []v1.EnvVar{{Name: "A", ValueFrom: ref("user")}, {Name: "B", ValueFrom: ref("password")}}}
	pod := testPod(c)
	src := testObjects()
	if _, err := resolveEnv(context.Background(), src, envContext{pod: pod, container: &pod.Spec.Containers[0]}); err != nil {
		t.Fatal(err)
	}
	if src.reads != 1 {
		t.Errorf("%d reads, want 1", src.reads)
	}
}

func TestExpandAll(t *testing.T) {
	env := []envVar{{"A", "x"}, {"B", "y z"}}
	got := expandAll([]string{"$(A)", "pre-$(B)-post", "$$(A)", "$(C)", "$A", "$(A", "$$", "$"}, env)
	want := []string{"x", "pre-y z-post", "$(A)", "$(C)", "$A", "$(A", "$", "$"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestResourceFieldRef(t *testing.T) {
	allocatable := v1.ResourceList{
		v1.ResourceCPU:              resource.MustParse("4"),
		v1.ResourceMemory:           resource.MustParse("8Gi"),
		v1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	c := v1.Container{Name: "c", Resources: v1.ResourceRequirements{
		Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m"), v1.ResourceMemory: resource.MustParse("100Mi")},
		Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("1500m"), v1.ResourceMemory: resource.MustParse("129Mi")},
	}}
	other := v1.Container{Name: "other"}
	pod := testPod(c)
	pod.Spec.Containers = append(pod.Spec.Containers, other)
	cases := []struct {
		container, res, divisor, want string
	}{
		{"", "requests.cpu", "", "1"},     // 250m rounded up to whole cores
		{"", "requests.cpu", "1m", "250"}, // in millicores
		{"", "limits.cpu", "", "2"},       // 1.5 -> 2
		{"", "limits.cpu", "100m", "15"},  // 1500m / 100m
		{"", "requests.memory", "", "104857600"},
		{"", "limits.memory", "1Mi", "129"},
		{"", "limits.memory", "1Gi", "1"},              // 129Mi rounds up
		{"", "limits.memory", "1M", "136"},             // 135266304 / 1e6 = 135.27 -> 136
		{"", "limits.ephemeral-storage", "1Gi", "100"}, // unset: node allocatable
		{"other", "limits.cpu", "", "4"},               // unset: node allocatable
		{"other", "limits.memory", "1Mi", "8192"},
		{"other", "requests.memory", "", "0"},
	}
	for _, tc := range cases {
		fs := &v1.ResourceFieldSelector{ContainerName: tc.container, Resource: tc.res}
		if tc.divisor != "" {
			fs.Divisor = resource.MustParse(tc.divisor)
		}
		got, err := resourceFieldValue(fs, pod, &pod.Spec.Containers[0], allocatable)
		if err != nil || got != tc.want {
			t.Errorf("%s %s / %s = %q, %v; want %q", tc.container, tc.res, tc.divisor, got, err, tc.want)
		}
	}
	// Pod-level limits come before the node's.
	pod.Spec.Resources = &v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceMemory: resource.MustParse("1Gi")}}
	got, _ := resourceFieldValue(&v1.ResourceFieldSelector{ContainerName: "other", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}, pod, nil, allocatable)
	if got != "1024" {
		t.Errorf("pod-level limit: %s, want 1024", got)
	}
	if _, err := resourceFieldValue(&v1.ResourceFieldSelector{Resource: "limits.gpus"}, pod, &pod.Spec.Containers[0], allocatable); err == nil {
		t.Error("unsupported resource: no error")
	}
	if _, err := resourceFieldValue(&v1.ResourceFieldSelector{ContainerName: "nope", Resource: "limits.cpu"}, pod, nil, allocatable); err == nil {
		t.Error("unknown container: no error")
	}
}
