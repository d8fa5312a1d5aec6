package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/kubernetes/pkg/fieldpath"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
)

// Environment variables, resolved as the kubelet's makeEnvironmentVariables
// does (pkg/kubelet/kubelet_pods.go): envFrom first (later sources win), then
// env in order, each `value` expanded with $(VAR) against the variables so far
// and the service variables ($$ is a literal $, unknown references stay as
// written); valueFrom reads Secrets, ConfigMaps, the pod's fields or its
// resources. command and args are expanded against the result. The expansion
// itself is upstream's (third_party/forked/golang/expansion), imported.

// objectGetter reads what env and volumes need, with the node's identity.
type objectGetter interface {
	getSecret(ctx context.Context, namespace, name string) (*v1.Secret, error)
	getConfigMap(ctx context.Context, namespace, name string) (*v1.ConfigMap, error)
}

// envVar is one resolved variable.
type envVar struct{ Name, Value string }

// envContext is what resolution needs besides the API.
type envContext struct {
	pod         *v1.Pod
	container   *v1.Container
	podIPs      []string
	hostIP      string
	allocatable v1.ResourceList   // default limits for resourceFieldRef
	serviceEnv  map[string]string // KUBERNETES_SERVICE_HOST and friends
}

// orderedEnv is a map that remembers the order names were first set.
type orderedEnv struct {
	names  []string
	values map[string]string
}

func (o *orderedEnv) set(k, v string) {
	if o.values == nil {
		o.values = map[string]string{}
	}
	if _, ok := o.values[k]; !ok {
		o.names = append(o.names, k)
	}
	o.values[k] = v
}

// resolveEnv returns the container's variables in a stable order (first
// definition wins the position, the last its value), service variables last.
func resolveEnv(ctx context.Context, get objectGetter, ec envContext) ([]envVar, error) {
	pod, c := ec.pod, ec.container
	ns := pod.Namespace
	secrets := map[string]*v1.Secret{}
	configMaps := map[string]*v1.ConfigMap{}
	// fetch returns nil, nil for a missing optional object.
	secretOf := func(name string, optional bool) (*v1.Secret, error) {
		if s, ok := secrets[name]; ok {
			return s, nil
		}
		s, err := get.getSecret(ctx, ns, name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return nil, nil
			}
			return nil, err
		}
		secrets[name] = s
		return s, nil
	}
	configMapOf := func(name string, optional bool) (*v1.ConfigMap, error) {
		if m, ok := configMaps[name]; ok {
			return m, nil
		}
		m, err := get.getConfigMap(ctx, ns, name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return nil, nil
			}
			return nil, err
		}
		configMaps[name] = m
		return m, nil
	}

	var env orderedEnv
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			m, err := configMapOf(from.ConfigMapRef.Name, isTrue(from.ConfigMapRef.Optional))
			if err != nil {
				return nil, err
			}
			if m == nil {
				continue
			}
			for _, k := range sortedKeys(m.Data) {
				env.set(from.Prefix+k, m.Data[k])
			}
		case from.SecretRef != nil:
			s, err := secretOf(from.SecretRef.Name, isTrue(from.SecretRef.Optional))
			if err != nil {
				return nil, err
			}
			if s == nil {
				continue
			}
			for _, k := range sortedKeys(s.Data) {
				env.set(from.Prefix+k, string(s.Data[k]))
			}
		}
	}

	mapping := expansion.MappingFuncFor(env.valuesView(), ec.serviceEnv)
	for _, e := range c.Env {
		val := e.Value
		switch {
		case val != "":
			val = expansion.Expand(val, mapping)
		case e.ValueFrom == nil:
		case e.ValueFrom.FieldRef != nil:
			v, err := podFieldValue(e.ValueFrom.FieldRef.FieldPath, pod, ec.podIPs, ec.hostIP)
			if err != nil {
				return nil, err
			}
			val = v
		case e.ValueFrom.ResourceFieldRef != nil:
			v, err := resourceFieldValue(e.ValueFrom.ResourceFieldRef, pod, c, ec.allocatable)
			if err != nil {
				return nil, err
			}
			val = v
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			optional := isTrue(ref.Optional)
			m, err := configMapOf(ref.Name, optional)
			if err != nil {
				return nil, err
			}
			if m == nil {
				continue
			}
			v, ok := m.Data[ref.Key]
			if !ok {
				if optional {
					continue
				}
				return nil, fmt.Errorf("couldn't find key %v in ConfigMap %v/%v", ref.Key, ns, ref.Name)
			}
			val = v
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			optional := isTrue(ref.Optional)
			s, err := secretOf(ref.Name, optional)
			if err != nil {
				return nil, err
			}
			if s == nil {
				continue
			}
			v, ok := s.Data[ref.Key]
			if !ok {
				if optional {
					continue
				}
				return nil, fmt.Errorf("couldn't find key %v in Secret %v/%v", ref.Key, ns, ref.Name)
			}
			val = string(v)
		default:
			return nil, fmt.Errorf("env %s: unsupported valueFrom", e.Name)
		}
		env.set(e.Name, val)
	}

	out := make([]envVar, 0, len(env.names)+len(ec.serviceEnv))
	for _, k := range env.names {
		out = append(out, envVar{k, env.values[k]})
	}
	for _, k := range sortedKeys(ec.serviceEnv) {
		if _, ok := env.values[k]; !ok {
			out = append(out, envVar{k, ec.serviceEnv[k]})
		}
	}
	return out, nil
}

// valuesView is the live map behind o (expansion sees later additions).
func (o *orderedEnv) valuesView() map[string]string {
	if o.values == nil {
		o.values = map[string]string{}
	}
	return o.values
}

// expandAll expands $(VAR) in command or args against env, as the kubelet's
// ExpandContainerCommandAndArgs does.
func expandAll(list []string, env []envVar) []string {
	if len(list) == 0 {
		return list
	}
	m := make(map[string]string, len(env))
	for _, e := range env {
		m[e.Name] = e.Value
	}
	mapping := expansion.MappingFuncFor(m)
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = expansion.Expand(s, mapping)
	}
	return out
}

// podFieldValue is the downward API's fieldRef for env and volumes.
func podFieldValue(path string, pod *v1.Pod, podIPs []string, hostIP string) (string, error) {
	switch path {
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	case "status.podIP":
		if len(podIPs) == 0 {
			return "", nil
		}
		return podIPs[0], nil
	case "status.podIPs":
		return strings.Join(podIPs, ","), nil
	}
	return fieldpath.ExtractFieldPathAsString(pod, path)
}

// serviceEnvFor is what the kubelet injects for the `kubernetes` Service of
// the default namespace, except that it names the apiserver's real address
// (from the agent's kubeconfig) instead of a ClusterIP: nothing routes
// ClusterIPs here. The service port in the variable names is that real port.
func serviceEnvFor(server string) (map[string]string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return nil, err
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("apiserver port %q", port)
	}
	addr := "tcp://" + net.JoinHostPort(host, port)
	return map[string]string{
		"KUBERNETES_SERVICE_HOST":                host,
		"KUBERNETES_SERVICE_PORT":                port,
		"KUBERNETES_SERVICE_PORT_HTTPS":          port,
		"KUBERNETES_PORT":                        addr,
		"KUBERNETES_PORT_" + port + "_TCP":       addr,
		"KUBERNETES_PORT_" + port + "_TCP_PROTO": "tcp",
		"KUBERNETES_PORT_" + port + "_TCP_PORT":  port,
		"KUBERNETES_PORT_" + port + "_TCP_ADDR":  host,
	}, nil
}

func isTrue(b *bool) bool { return b != nil && *b }
