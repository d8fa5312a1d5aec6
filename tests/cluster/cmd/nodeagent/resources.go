package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The downward API's resourceFieldRef, as the kubelet computes it
// (k8s.io/kubernetes/pkg/api/v1/resource, pkg/kubelet/kubelet_resources.go):
// limits a container does not set default to the pod-level limits, then to
// the node's allocatable; values are divided by the divisor (default 1) and
// rounded up.

// resourceFieldValue resolves fs for container (used when fs names no
// container) in pod, with the node's allocatable as default limits.
func resourceFieldValue(fs *v1.ResourceFieldSelector, pod *v1.Pod, container *v1.Container, allocatable v1.ResourceList) (string, error) {
	c := container
	if fs.ContainerName != "" {
		c = findContainer(pod, fs.ContainerName)
		if c == nil {
			return "", fmt.Errorf("container %s not found", fs.ContainerName)
		}
	}
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef %s needs a containerName", fs.Resource)
	}
	c = withDefaultLimits(pod, c, allocatable)
	divisor := resource.MustParse("1")
	if !fs.Divisor.IsZero() {
		divisor = fs.Divisor
	}
	res := c.Resources
	switch fs.Resource {
	case "limits.cpu":
		return cpuString(res.Limits.Cpu(), divisor), nil
	case "limits.memory":
		return bytesString(res.Limits.Memory(), divisor), nil
	case "limits.ephemeral-storage":
		return bytesString(res.Limits.StorageEphemeral(), divisor), nil
	case "requests.cpu":
		return cpuString(res.Requests.Cpu(), divisor), nil
	case "requests.memory":
		return bytesString(res.Requests.Memory(), divisor), nil
	case "requests.ephemeral-storage":
		return bytesString(res.Requests.StorageEphemeral(), divisor), nil
	}
	for _, kind := range []string{"requests.", "limits."} {
		if name, ok := strings.CutPrefix(fs.Resource, kind); ok && strings.HasPrefix(name, v1.ResourceHugePagesPrefix) {
			list := res.Requests
			if kind == "limits." {
				list = res.Limits
			}
			return bytesString(list.Name(v1.ResourceName(name), resource.BinarySI), divisor), nil
		}
	}
	return "", fmt.Errorf("unsupported container resource : %v", fs.Resource)
}

// withDefaultLimits returns a copy of c whose unset (or zero) cpu, memory and
// ephemeral-storage limits come from the pod-level limits, else allocatable.
func withDefaultLimits(pod *v1.Pod, c *v1.Container, allocatable v1.ResourceList) *v1.Container {
	defaults := allocatable.DeepCopy()
	if defaults == nil {
		defaults = v1.ResourceList{}
	}
	if pod.Spec.Resources != nil {
		for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			if q, ok := pod.Spec.Resources.Limits[name]; ok && !q.IsZero() {
				defaults[name] = q.DeepCopy()
			}
		}
	}
	out := c.DeepCopy()
	if out.Resources.Limits == nil {
		out.Resources.Limits = v1.ResourceList{}
	}
	for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage} {
		if q, ok := out.Resources.Limits[name]; !ok || q.IsZero() {
			if d, ok := defaults[name]; ok {
				out.Resources.Limits[name] = d.DeepCopy()
			}
		}
	}
	return out
}

// cpuString is ceil(cpu / divisor) in millicores, as the kubelet does.
func cpuString(q *resource.Quantity, divisor resource.Quantity) string {
	return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10)
}

// bytesString is ceil(q / divisor) for memory, storage and huge pages.
func bytesString(q *resource.Quantity, divisor resource.Quantity) string {
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10)
}

// findContainer finds a container or init container of pod by name.
func findContainer(pod *v1.Pod, name string) *v1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}
