// benchoperator: a minimal DatabaseBackup controller written the usual Go way
// (client-go: a dynamic informer on databasebackups.lifeboat.dev, typed Job
// and Pod informers, a rate-limited work queue, an event recorder), for
// bench/operator.sh only: it is the "what would a Go operator use for the same
// work" baseline beside lifeboat-operator. Test infrastructure; nothing of it
// ships, and tests/cluster/build.sh does not build it.
//
// The same work as lifeboat-operator's backup controller
// (operator/controller/backup.c) on the spec shape the bench applies (a
// database by host with passwordSecretRef, S3 storage, a passphrase): per
// backup one batch/v1 Job <name>-backup of the same shape (init container
// `backup`, container `verify`, the same env, volumes, security contexts and
// podFailurePolicy), status Pending -> Running -> Verifying -> Completed or
// Failed from the Job, the pod and the containers' termination messages
// (Completed only with the dump's sha256 and size), a status write only when
// the status changed (the status subresource, resourceVersion-checked, 409
// retried), and one Event per phase change. Not done: deletionPolicy Delete
// (finalizer, delete Job), other storage backends and database forms (refused
// as InvalidSpec), leader election, metrics and probes.
//
//	benchoperator --kubeconfig F --namespace NS --job-image IMAGE [--workers 4] [--ready-file F]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/workqueue"
)

var backupGVR = schema.GroupVersionResource{Group: "lifeboat.dev", Version: "v1alpha1", Resource: "databasebackups"}

const (
	selector         = "app.kubernetes.io/managed-by=lifeboat-operator"
	terminationPath  = "/dev/termination-log"
	passphraseDir    = "/etc/lifeboat/passphrase"
	defaultUID       = 65532
	containerBackup  = "backup"
	containerVerify  = "verify"
	phasePending     = "Pending"
	phaseRunning     = "Running"
	phaseVerifying   = "Verifying"
	phaseCompleted   = "Completed"
	phaseFailed      = "Failed"
	conditionReady   = "Ready"
	conditionVerifed = "Verified"
)

// The job's exit statuses no retry changes (docs/job.md), as lifeboat-operator
// puts them in the podFailurePolicy.
var permanentExitCodes = []int32{2, 5, 6, 7, 8, 9, 10}

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

type controller struct {
	dyn     dynamic.Interface
	cs      kubernetes.Interface
	backups cache.GenericLister
	jobs    batchlisters.JobLister
	pods    corelisters.PodLister
	q       workqueue.TypedRateLimitingInterface[string]
	rec     record.EventRecorder
	image   string
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	ns := flag.String("namespace", "", "namespace to watch (empty: all)")
	image := flag.String("job-image", "lifeboat-job", "image of the backup Jobs")
	workers := flag.Int("workers", 4, "reconcile workers")
	ready := flag.String("ready-file", "", "written once the caches have synced")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fatal("kubeconfig: %v", err)
	}
	// lifeboat-operator has no client-side rate limit; neither does this.
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	cfg.UserAgent = "benchoperator"
	dyn := dynamic.NewForConfigOrDie(cfg)
	cs := kubernetes.NewForConfigOrDie(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	bf := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, *ns, nil)
	bi := bf.ForResource(backupGVR)
	tf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(*ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	ji := tf.Batch().V1().Jobs()
	pi := tf.Core().V1().Pods()

	eb := record.NewBroadcaster()
	eb.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	defer eb.Shutdown()

	c := &controller{
		dyn:     dyn,
		cs:      cs,
		backups: bi.Lister(),
		jobs:    ji.Lister(),
		pods:    pi.Lister(),
		q:       workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		rec:     eb.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "lifeboat-operator-go"}),
		image:   *image,
	}
	enqueueObj := func(obj interface{}) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			c.q.Add(key)
		}
	}
	_, _ = bi.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueObj,
		UpdateFunc: func(_, n interface{}) { enqueueObj(n) },
		DeleteFunc: enqueueObj,
	})
	jobOwner := func(obj interface{}) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if j, ok := obj.(*batchv1.Job); ok {
			c.enqueueOwner(j)
		}
	}
	_, _ = ji.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: jobOwner, UpdateFunc: func(_, n interface{}) { jobOwner(n) }, DeleteFunc: jobOwner,
	})
	podOwner := func(obj interface{}) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		if j, err := c.jobs.Jobs(p.Namespace).Get(p.Labels["job-name"]); err == nil {
			c.enqueueOwner(j)
		}
	}
	_, _ = pi.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: podOwner, UpdateFunc: func(_, n interface{}) { podOwner(n) }, DeleteFunc: podOwner,
	})

	bf.Start(ctx.Done())
	tf.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), bi.Informer().HasSynced, ji.Informer().HasSynced, pi.Informer().HasSynced) {
		fatal("caches did not sync")
	}
	fmt.Fprintln(os.Stderr, "benchoperator: caches synced")
	if *ready != "" {
		_ = os.WriteFile(*ready, []byte("ready\n"), 0o644)
	}
	for i := 0; i < *workers; i++ {
		go func() {
			for c.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
	c.q.ShutDown()
	fmt.Fprintln(os.Stderr, "benchoperator: stopped")
}

func fatal(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "benchoperator: "+format+"\n", a...)
	os.Exit(1)
}

func (c *controller) enqueueOwner(j *batchv1.Job) {
	for _, r := range j.OwnerReferences {
		if r.Kind == "DatabaseBackup" {
			c.q.Add(j.Namespace + "/" + r.Name)
		}
	}
}

func (c *controller) next(ctx context.Context) bool {
	key, shutdown := c.q.Get()
	if shutdown {
		return false
	}
	defer c.q.Done(key)
	if err := c.reconcile(ctx, key); err != nil {
		fmt.Fprintf(os.Stderr, "benchoperator: %s: %v (retried)\n", key, err)
		c.q.AddRateLimited(key)
	} else {
		c.q.Forget(key)
	}
	return true
}

// --- reading the unstructured backup ---

func str(o map[string]interface{}, path ...string) string {
	s, _, _ := unstructured.NestedString(o, path...)
	return s
}

func num(o map[string]interface{}, def int64, path ...string) int64 {
	v, ok, _ := unstructured.NestedFieldNoCopy(o, path...)
	if !ok {
		return def
	}
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return def
}

func boolean(o map[string]interface{}, def bool, path ...string) bool {
	b, ok, _ := unstructured.NestedBool(o, path...)
	if !ok {
		return def
	}
	return b
}

// --- the Job ---

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

// Unreserved characters stay, the rest is %XX, as operator/jobspec.c encodes.
func encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || strings.IndexByte("-._~", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// buildJob: the Job lifeboat-operator makes for this spec shape; an error is
// an InvalidSpec.
func (c *controller) buildJob(b *unstructured.Unstructured) (*batchv1.Job, error) {
	o := b.Object
	spec, _, _ := unstructured.NestedMap(o, "spec")
	if str(spec, "database", "host") == "" || str(spec, "storage", "s3", "bucket") == "" {
		return nil, fmt.Errorf("benchoperator handles only spec.database.host with spec.storage.s3")
	}
	ns, name := b.GetNamespace(), b.GetName()
	s3cred := str(spec, "storage", "s3", "credentialsSecretRef", "name")
	akKey := str(spec, "storage", "s3", "credentialsSecretRef", "accessKeyIdKey")
	if akKey == "" {
		akKey = "AWS_ACCESS_KEY_ID"
	}
	skKey := str(spec, "storage", "s3", "credentialsSecretRef", "secretAccessKeyKey")
	if skKey == "" {
		skKey = "AWS_SECRET_ACCESS_KEY"
	}
	storage := "s3://" + str(spec, "storage", "s3", "bucket")
	if p := strings.TrimRight(str(spec, "storage", "s3", "prefix"), "/"); p != "" {
		storage += "/" + p
	}
	q := []string{}
	if r := str(spec, "storage", "s3", "region"); r != "" {
		q = append(q, "region="+encode(r))
	}
	if e := strings.TrimRight(str(spec, "storage", "s3", "endpoint"), "/"); e != "" {
		q = append(q, "endpoint="+encode(e))
	}
	if len(q) > 0 {
		storage += "?" + strings.Join(q, "&")
	}
	host := str(spec, "database", "host")
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	db := fmt.Sprintf("postgresql://%s@%s:%d/%s?sslmode=%s", encode(str(spec, "database", "user")), host,
		num(spec, 5432, "database", "port"), encode(str(spec, "database", "database")), str(spec, "database", "sslMode"))
	common := []corev1.EnvVar{
		{Name: "LIFEBOAT_NAMESPACE", Value: ns},
		{Name: "LIFEBOAT_NAME", Value: name},
		{Name: "LIFEBOAT_STORAGE", Value: storage},
		secretEnv("AWS_ACCESS_KEY_ID", s3cred, akKey),
		secretEnv("AWS_SECRET_ACCESS_KEY", s3cred, skKey),
	}
	backupEnv := append([]corev1.EnvVar{}, common...)
	backupEnv = append(backupEnv, corev1.EnvVar{Name: "LIFEBOAT_DB", Value: db})
	if pw := str(spec, "database", "passwordSecretRef", "name"); pw != "" {
		backupEnv = append(backupEnv, secretEnv("PGPASSWORD", pw, str(spec, "database", "passwordSecretRef", "key")))
	}
	backupEnv = append(backupEnv,
		corev1.EnvVar{Name: "PGCONNECT_TIMEOUT", Value: fmt.Sprint(num(spec, 10, "database", "connectTimeoutSeconds"))},
		corev1.EnvVar{Name: "LIFEBOAT_FORMAT", Value: str(spec, "format")},
		corev1.EnvVar{Name: "LIFEBOAT_COMPRESSION", Value: str(spec, "compression")})
	verifyEnv := append([]corev1.EnvVar{}, common...)
	mounts := []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}
	volumes := []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	if pp := str(spec, "encryption", "passphraseSecretRef", "name"); pp != "" {
		mode := int32(0o440)
		volumes = append(volumes, corev1.Volume{Name: "passphrase", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: pp, DefaultMode: &mode,
			Items: []corev1.KeyToPath{{Key: str(spec, "encryption", "passphraseSecretRef", "key"), Path: "passphrase"}}}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "passphrase", MountPath: passphraseDir, ReadOnly: true})
		f := corev1.EnvVar{Name: "LIFEBOAT_PASSPHRASE_FILE", Value: passphraseDir + "/passphrase"}
		backupEnv = append(backupEnv, f)
		verifyEnv = append(verifyEnv, f)
	}
	logLevel := str(spec, "jobTemplate", "logLevel")
	if logLevel == "" {
		logLevel = "info"
	}
	backupEnv = append(backupEnv, corev1.EnvVar{Name: "LIFEBOAT_LOG_LEVEL", Value: logLevel})
	verifyEnv = append(verifyEnv, corev1.EnvVar{Name: "LIFEBOAT_LOG_LEVEL", Value: logLevel})

	f, t := false, true
	uid := int64(defaultUID)
	policy := corev1.FSGroupChangeOnRootMismatch
	sc := &corev1.SecurityContext{
		AllowPrivilegeEscalation: &f, Privileged: &f, ReadOnlyRootFilesystem: &t, RunAsNonRoot: &t,
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	ctr := func(cname string, env []corev1.EnvVar) corev1.Container {
		return corev1.Container{
			Name: cname, Image: c.image, Args: []string{cname}, Env: env, VolumeMounts: mounts,
			SecurityContext: sc, TerminationMessagePath: terminationPath,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		}
	}
	instance := name
	if len(instance) > 63 {
		return nil, fmt.Errorf("benchoperator handles only names of at most 63 characters")
	}
	lbl := map[string]string{
		"app.kubernetes.io/name": "lifeboat", "app.kubernetes.io/component": "backup",
		"app.kubernetes.io/managed-by": "lifeboat-operator", "app.kubernetes.io/instance": instance,
		"lifeboat.dev/backup": instance,
	}
	tlbl := map[string]string{}
	for k, v := range lbl {
		tlbl[k] = v
	}
	backoff := int32(num(spec, 1, "jobTemplate", "backoffLimit"))
	deadline := num(spec, 3600, "jobTemplate", "activeDeadlineSeconds")
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name + "-backup", Namespace: ns, Labels: lbl,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "lifeboat.dev/v1alpha1", Kind: "DatabaseBackup",
				Name: name, UID: b.GetUID(), Controller: &t, BlockOwnerDeletion: &t}},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit: &backoff, ActiveDeadlineSeconds: &deadline,
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr(containerBackup), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: permanentExitCodes}},
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr(containerVerify), Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{0}}},
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: tlbl},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, AutomountServiceAccountToken: &f, EnableServiceLinks: &f,
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &t, RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid,
						FSGroupChangePolicy: &policy, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					InitContainers: []corev1.Container{ctr(containerBackup, backupEnv)},
					Containers:     []corev1.Container{ctr(containerVerify, verifyEnv)},
					Volumes:        volumes,
				},
			},
		},
	}, nil
}

func ptr[T any](v T) *T { return &v }

// --- the job's result ---

type result struct {
	Command        string                 `json:"command"`
	Phase          string                 `json:"phase"`
	Reason         string                 `json:"reason"`
	Message        string                 `json:"message"`
	CompletionTime string                 `json:"completionTime"`
	Duration       *float64               `json:"durationSeconds"`
	Artifact       map[string]interface{} `json:"artifact"`
	Database       map[string]interface{} `json:"database"`
	Verification   map[string]interface{} `json:"verification"`
}

func parseResult(cs *corev1.ContainerStatus) *result {
	if cs == nil || cs.State.Terminated == nil || cs.State.Terminated.Message == "" {
		return nil
	}
	var r result
	if json.Unmarshal([]byte(cs.State.Terminated.Message), &r) != nil || r.Command == "" ||
		(r.Phase != phaseCompleted && r.Phase != phaseFailed) {
		return nil
	}
	return &r
}

func (r *result) ok() bool { return r != nil && r.Phase == phaseCompleted && r.Reason == "Succeeded" }

func (r *result) hasArtifact() bool {
	if !r.ok() || r.Artifact == nil {
		return false
	}
	sha, _ := r.Artifact["sha256"].(string)
	_, sized := r.Artifact["size"].(float64)
	return sha256Re.MatchString(sha) && sized
}

func containerStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// --- the status ---

type next struct {
	status     map[string]interface{}
	generation int64
	now        string
}

func (n *next) setCondition(typ, status, reason, message string) {
	conds, _ := n.status["conditions"].([]interface{})
	c := map[string]interface{}{"type": typ, "status": status, "reason": reason, "message": message,
		"observedGeneration": n.generation, "lastTransitionTime": n.now}
	for i, x := range conds {
		old, _ := x.(map[string]interface{})
		if old["type"] == typ {
			if old["status"] == status {
				c["lastTransitionTime"] = old["lastTransitionTime"]
			}
			conds[i] = c
			n.status["conditions"] = conds
			return
		}
	}
	n.status["conditions"] = append(conds, c)
}

func (n *next) setState(phase, ready, reason, message string) {
	n.status["phase"] = phase
	n.status["message"] = message
	n.status["observedGeneration"] = n.generation
	n.setCondition(conditionReady, ready, reason, message)
}

func (c *controller) reconcile(ctx context.Context, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	obj, err := c.backups.ByNamespace(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	b := obj.(*unstructured.Unstructured)
	if b.GetDeletionTimestamp() != nil {
		return nil
	}
	oldStatus, _, _ := unstructured.NestedMap(b.Object, "status")
	st := map[string]interface{}{}
	if oldStatus != nil {
		st = runtime.DeepCopyJSON(oldStatus)
	}
	nx := &next{status: st, generation: b.GetGeneration(), now: time.Now().UTC().Format(time.RFC3339)}
	oldPhase, _ := oldStatus["phase"].(string)
	jobName := name + "-backup"
	var event struct {
		warning     bool
		reason, msg string
	}

	switch job, jerr := c.jobs.Jobs(ns).Get(jobName); {
	case oldPhase == phaseCompleted || oldPhase == phaseFailed:
		nx.status["observedGeneration"] = nx.generation
	case jerr != nil && !apierrors.IsNotFound(jerr):
		return jerr
	case jerr != nil && (oldPhase == phaseRunning || oldPhase == phaseVerifying):
		msg := fmt.Sprintf("Job %s was deleted before it finished; create a new DatabaseBackup to back up again", jobName)
		setDefault(nx.status, "completionTime", nx.now)
		nx.setState(phaseFailed, "False", "PodLost", msg)
		event.warning, event.reason, event.msg = true, "PodLost", msg
	case jerr != nil:
		j, berr := c.buildJob(b)
		if berr != nil {
			nx.setState(phasePending, "False", "InvalidSpec", berr.Error())
			event.warning, event.reason, event.msg = true, "InvalidSpec", berr.Error()
			break
		}
		if _, err := c.cs.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		nx.status["jobName"] = jobName
		msg := "created Job " + jobName
		nx.setState(phasePending, "False", "Pending", msg)
		event.reason, event.msg = "Pending", msg
	default:
		nx.status["jobName"] = jobName
		if job.Status.StartTime != nil {
			nx.status["startTime"] = job.Status.StartTime.UTC().Format(time.RFC3339)
		} else {
			setDefault(nx.status, "startTime", nx.now)
		}
		pod := c.newestPod(ns, jobName)
		var bcs, vcs *corev1.ContainerStatus
		if pod != nil {
			bcs = containerStatus(pod.Status.InitContainerStatuses, containerBackup)
			vcs = containerStatus(pod.Status.ContainerStatuses, containerVerify)
		}
		verify := boolean(b.Object, true, "spec", "verify")
		switch {
		case jobCondition(job, batchv1.JobFailed):
			reason, msg := "JobFailed", "the Job failed without a result"
			for _, cs := range []*corev1.ContainerStatus{bcs, vcs} {
				if r := parseResult(cs); r != nil && !r.ok() && r.Reason != "" {
					reason, msg = r.Reason, r.Message
					break
				}
			}
			setDefault(nx.status, "completionTime", nx.now)
			nx.setState(phaseFailed, "False", reason, msg)
			event.warning, event.reason, event.msg = true, reason, msg
		case jobCondition(job, batchv1.JobComplete):
			br, vr := parseResult(bcs), parseResult(vcs)
			if br != nil {
				if br.Artifact != nil {
					nx.status["artifact"] = br.Artifact
				}
				if br.Database != nil {
					nx.status["database"] = br.Database
				}
				if br.Duration != nil {
					nx.status["durationSeconds"] = *br.Duration
				}
			}
			if vr != nil && vr.Verification != nil {
				nx.status["verification"] = vr.Verification
			}
			if br != nil && br.CompletionTime != "" {
				nx.status["completionTime"] = br.CompletionTime
			} else {
				setDefault(nx.status, "completionTime", nx.now)
			}
			if !br.hasArtifact() {
				msg := "the Job succeeded but the backup container's result is missing or lacks the dump's sha256 and size; the backup cannot be trusted"
				nx.setState(phaseFailed, "False", "JobFailed", msg)
				event.warning, event.reason, event.msg = true, "JobFailed", msg
			} else if verify && !vr.ok() {
				msg := "the Job succeeded but the verify result is missing; the backup was not checked"
				nx.setState(phaseFailed, "False", "JobFailed", msg)
				nx.setCondition(conditionVerifed, "False", "JobFailed", msg)
				event.warning, event.reason, event.msg = true, "JobFailed", msg
			} else {
				loc, _ := br.Artifact["location"].(string)
				size, _ := br.Artifact["size"].(float64)
				msg := fmt.Sprintf("stored %s (%d bytes, sha256 %s)", loc, int64(size), br.Artifact["sha256"])
				nx.setState(phaseCompleted, "True", "Succeeded", msg)
				if verify {
					nx.setCondition(conditionVerifed, "True", "Verified", "the stored backup was re-read and checked")
				} else {
					nx.setCondition(conditionVerifed, "False", "NotRequested", "spec.verify is false")
				}
				event.reason, event.msg = phaseCompleted, msg
			}
		case pod != nil && pod.DeletionTimestamp == nil && verify && bcs != nil && bcs.State.Terminated != nil && bcs.State.Terminated.ExitCode == 0:
			msg := fmt.Sprintf("Job %s re-reads and checks the stored backup", jobName)
			nx.setState(phaseVerifying, "False", "Verifying", msg)
			event.reason, event.msg = "Verifying", msg
		case pod != nil && bcs != nil && bcs.State.Running != nil:
			msg := fmt.Sprintf("Job %s runs the backup", jobName)
			nx.setState(phaseRunning, "False", "Running", msg)
			event.reason, event.msg = "Running", msg
		case oldPhase == "":
			msg := fmt.Sprintf("Job %s waits for its pod", jobName)
			nx.setState(phasePending, "False", "Pending", msg)
			event.reason, event.msg = "Pending", msg
		}
	}
	if reflect.DeepEqual(oldStatus, nx.status) || (oldStatus == nil && len(nx.status) == 0) {
		return nil
	}
	u := b.DeepCopy()
	u.Object["status"] = nx.status
	updated, err := c.dyn.Resource(backupGVR).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	if err != nil {
		return err // a 409 is retried from the cache, as lifeboat-operator re-reads
	}
	if phase, _ := nx.status["phase"].(string); phase != oldPhase && event.reason != "" {
		typ := corev1.EventTypeNormal
		if event.warning {
			typ = corev1.EventTypeWarning
		}
		c.rec.Eventf(updated, typ, event.reason, "%s: %s", phase, event.msg)
	}
	return nil
}

func setDefault(m map[string]interface{}, key, value string) {
	if _, ok := m[key]; !ok {
		m[key] = value
	}
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func (c *controller) newestPod(ns, job string) *corev1.Pod {
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromSet(labels.Set{"job-name": job}))
	if err != nil {
		return nil
	}
	var best *corev1.Pod
	for _, p := range pods {
		if best == nil || best.CreationTimestamp.Before(&p.CreationTimestamp) {
			best = p
		}
	}
	return best
}
