package app

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

const (
	good = "registry.example.com/team/web@sha256:aaaa"
	bad  = "registry.example.com/team/web@sha256:bbbb"
	next = "registry.example.com/team/web@sha256:cccc"
)

// deployment is a live Deployment running img with the given status.
type depState struct {
	observed                     bool
	replicas, updated, available int32
	deadline                     bool
}

func deployment(img string, desired int32, s depState) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "demo", Generation: 5},
		Spec: appsv1.DeploymentSpec{
			Replicas:                ptr.To(desired),
			ProgressDeadlineSeconds: ptr.To[int32](600),
			Template:                corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: ContainerName, Image: img}}}},
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 4,
			Replicas:           s.replicas, ReadyReplicas: s.available, UpdatedReplicas: s.updated, AvailableReplicas: s.available,
		},
	}
	if s.observed {
		d.Status.ObservedGeneration = 5
	}
	if s.deadline {
		d.Status.Conditions = []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: ReasonProgressDeadlineExceeded,
			Message: `ReplicaSet "web-5d4f" has timed out progressing.`,
		}}
	}
	return d
}

var (
	complete = depState{observed: true, replicas: 2, updated: 2, available: 2}
	stuck    = depState{observed: true, replicas: 3, updated: 1, available: 2, deadline: true}
	rolling  = depState{observed: true, replicas: 3, updated: 1, available: 2}
)

func TestDecideRollout(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   RolloutInput
		want RolloutDecision
	}{
		{"first rollout", RolloutInput{Target: good, RollbackEnabled: true}, RolloutDecision{Image: good}},
		{"new image rolling", RolloutInput{Target: bad, RollbackEnabled: true, LastGoodImage: good, Deployment: deployment(bad, 2, rolling)},
			RolloutDecision{Image: bad}},
		{"new image missed its deadline: roll back", RolloutInput{Target: bad, RollbackEnabled: true, LastGoodImage: good, Deployment: deployment(bad, 2, stuck)},
			RolloutDecision{Image: good, FailedImage: bad, RolledBack: true}},
		{"rolled back: stay there", RolloutInput{Target: bad, RollbackEnabled: true, LastGoodImage: good, FailedImage: bad, Deployment: deployment(good, 2, complete)},
			RolloutDecision{Image: good, FailedImage: bad}},
		{"rolled back, then a new image: run it", RolloutInput{Target: next, RollbackEnabled: true, LastGoodImage: good, FailedImage: bad, Deployment: deployment(good, 2, complete)},
			RolloutDecision{Image: next}},
		{"rolled back, then rollback disabled: run the target", RolloutInput{Target: bad, RollbackEnabled: false, LastGoodImage: good, FailedImage: bad, Deployment: deployment(good, 2, complete)},
			RolloutDecision{Image: bad}},
		{"rollback disabled: keep failing", RolloutInput{Target: bad, RollbackEnabled: false, LastGoodImage: good, Deployment: deployment(bad, 2, stuck)},
			RolloutDecision{Image: bad}},
		{"no last good image: nothing to roll back to", RolloutInput{Target: bad, RollbackEnabled: true, Deployment: deployment(bad, 2, stuck)},
			RolloutDecision{Image: bad}},
		{"the last good image itself fails: no flip-flop", RolloutInput{Target: good, RollbackEnabled: true, LastGoodImage: good, Deployment: deployment(good, 2, stuck)},
			RolloutDecision{Image: good}},
		{"deadline exceeded for the previous image, new target: run the new target", RolloutInput{Target: next, RollbackEnabled: true, LastGoodImage: good, Deployment: deployment(bad, 2, stuck)},
			RolloutDecision{Image: next}},
		{"deadline condition not yet for the current generation", RolloutInput{Target: bad, RollbackEnabled: true, LastGoodImage: good,
			Deployment: deployment(bad, 2, depState{observed: false, deadline: true})}, RolloutDecision{Image: bad}},
		// The pool is Disconnected: nothing changes on the site until it reconnects.
		{"pool disconnected: a new image waits", RolloutInput{Target: next, RollbackEnabled: true, LastGoodImage: good, Deployment: deployment(good, 2, complete), PoolDisconnected: true},
			RolloutDecision{Image: good, Paused: true, Waiting: next}},
		{"pool disconnected: a missed deadline is not rolled back", RolloutInput{Target: bad, RollbackEnabled: true, LastGoodImage: good, Deployment: deployment(bad, 2, stuck), PoolDisconnected: true},
			RolloutDecision{Image: bad, Paused: true}},
		{"pool disconnected before anything ran: the first rollout is made", RolloutInput{Target: good, RollbackEnabled: true, PoolDisconnected: true},
			RolloutDecision{Image: good}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecideRollout(tc.in); got != tc.want {
				t.Errorf("DecideRollout = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *appsv1.Deployment
		want RolloutProgress
	}{
		{"nil", nil, RolloutProgress{}},
		{"not observed", deployment(good, 2, depState{replicas: 2, updated: 2, available: 2}), RolloutProgress{Desired: 2}},
		{"complete", deployment(good, 2, complete), RolloutProgress{Observed: true, Desired: 2, Complete: true}},
		{"old pods left", deployment(good, 2, depState{observed: true, replicas: 3, updated: 2, available: 2}), RolloutProgress{Observed: true, Desired: 2}},
		{"not available", deployment(good, 2, depState{observed: true, replicas: 2, updated: 2, available: 1}), RolloutProgress{Observed: true, Desired: 2}},
		{"zero replicas", deployment(good, 0, depState{observed: true}), RolloutProgress{Observed: true, Desired: 0, Complete: true}},
		{"deadline", deployment(bad, 2, stuck), RolloutProgress{Observed: true, Desired: 2, DeadlineExceeded: true, DeadlineMessage: `ReplicaSet "web-5d4f" has timed out progressing.`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Progress(tc.d); got != tc.want {
				t.Errorf("Progress = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	type want struct {
		ready, reconciling, stalled, rolledBack metav1.ConditionStatus // "" = absent
		reason                                  string                 // of Ready
		msg                                     string                 // substring of Ready's message
		lastGood, image, readyCol               string
	}
	for _, tc := range []struct {
		name     string
		lastGood string
		rollback bool
		d        *appsv1.Deployment
		dec      RolloutDecision
		want     want
	}{
		{"just applied, not observed", "", true, deployment(good, 2, depState{}), RolloutDecision{Image: good},
			want{ready: "False", reconciling: "True", reason: "RollingOut", msg: "Waiting for the Deployment controller", image: good, readyCol: "0/2"}},
		{"rolling", good, true, deployment(next, 2, rolling), RolloutDecision{Image: next},
			want{ready: "False", reconciling: "True", reason: "RollingOut", msg: "1 of 2 replicas updated, 2 available", lastGood: good, image: next, readyCol: "2/2"}},
		{"complete: Ready, lastGoodImage", good, true, deployment(next, 2, complete), RolloutDecision{Image: next},
			want{ready: "True", reason: "RolledOut", msg: "2/2 replicas of " + next, lastGood: next, image: next, readyCol: "2/2"}},
		{"rolled back", good, true, deployment(good, 2, complete), RolloutDecision{Image: good, FailedImage: bad},
			want{ready: "False", stalled: "True", rolledBack: "True", reason: "RolledBack", msg: "The rollout of " + bad + " missed its progress deadline; rolled back to " + good, lastGood: good, image: good, readyCol: "2/2"}},
		{"deadline, no last good image", "", true, deployment(bad, 2, stuck), RolloutDecision{Image: bad},
			want{ready: "False", stalled: "True", reason: "ProgressDeadlineExceeded", msg: "no earlier image rolled out completely", image: bad, readyCol: "2/2"}},
		{"deadline, rollback disabled", good, false, deployment(bad, 2, stuck), RolloutDecision{Image: bad},
			want{ready: "False", stalled: "True", reason: "ProgressDeadlineExceeded", msg: "rollback is disabled", lastGood: good, image: bad, readyCol: "2/2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := appDeployment(func(a *v1alpha1.AppDeployment) {
				a.Status.LastGoodImage = tc.lastGood
				a.Spec.Rollback.Enabled = ptr.To(tc.rollback)
				// a RolledBack condition from an earlier pass must go when not rolled back any more
				a.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionRolledBack, Status: "True", Reason: "ProgressDeadlineExceeded"}}
			})
			Summarize(app, tc.d, tc.dec, nil)
			st := app.Status
			for typ, w := range map[string]metav1.ConditionStatus{
				v1alpha1.ConditionReady: tc.want.ready, v1alpha1.ConditionReconciling: tc.want.reconciling,
				v1alpha1.ConditionStalled: tc.want.stalled, v1alpha1.ConditionRolledBack: tc.want.rolledBack,
			} {
				c := meta.FindStatusCondition(st.Conditions, typ)
				switch {
				case w == "" && c != nil:
					t.Errorf("%s = %s, want absent", typ, c.Status)
				case w != "" && (c == nil || c.Status != w):
					t.Errorf("%s = %v, want %s", typ, c, w)
				}
			}
			ready := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
			if ready.Reason != tc.want.reason || !strings.Contains(ready.Message, tc.want.msg) {
				t.Errorf("Ready = %s %q, want %s containing %q", ready.Reason, ready.Message, tc.want.reason, tc.want.msg)
			}
			if ready.ObservedGeneration != app.Generation {
				t.Errorf("Ready's observedGeneration = %d, want %d", ready.ObservedGeneration, app.Generation)
			}
			if st.LastGoodImage != tc.want.lastGood || st.Image != tc.want.image || st.Ready != tc.want.readyCol || st.FailedImage != tc.dec.FailedImage {
				t.Errorf("status lastGood=%q image=%q ready=%q failed=%q, want %q %q %q %q", st.LastGoodImage, st.Image, st.Ready, st.FailedImage,
					tc.want.lastGood, tc.want.image, tc.want.readyCol, tc.dec.FailedImage)
			}
			if st.URL != "http://web.demo.svc:8080" {
				t.Errorf("url = %q", st.URL)
			}
		})
	}
}

func TestURL(t *testing.T) {
	for _, tc := range []struct {
		name string
		app  *v1alpha1.AppDeployment
		want string
	}{
		{"service", appDeployment(nil), "http://web.demo.svc:8080"},
		{"service port override", appDeployment(func(a *v1alpha1.AppDeployment) { a.Spec.Ports[0].ServicePort = ptr.To[int32](80) }), "http://web.demo.svc:80"},
		{"no service", appDeployment(func(a *v1alpha1.AppDeployment) { a.Spec.Service.Type = v1alpha1.ServiceTypeNone }), ""},
		{"no ports", appDeployment(func(a *v1alpha1.AppDeployment) { a.Spec.Ports = nil }), ""},
		{"ingress host", appDeployment(func(a *v1alpha1.AppDeployment) {
			a.Spec.Ingress = &v1alpha1.AppIngress{Host: "web.example.com", Path: "/shop"}
		}), "http://web.example.com/shop"},
		{"ingress tls", appDeployment(func(a *v1alpha1.AppDeployment) {
			a.Spec.Ingress = &v1alpha1.AppIngress{Host: "web.example.com", TLSSecretName: "tls"}
		}), "https://web.example.com/"},
		{"ingress without host: the service port it routes to", appDeployment(func(a *v1alpha1.AppDeployment) {
			a.Spec.Ports = append(a.Spec.Ports, v1alpha1.AppPort{Name: "admin", ContainerPort: 9000})
			a.Spec.Ingress = &v1alpha1.AppIngress{Port: "admin"}
		}), "http://web.demo.svc:9000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := URL(tc.app); got != tc.want {
				t.Errorf("URL = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBuildImage(t *testing.T) {
	ib := func(phase v1alpha1.BuildPhase, latest string) *v1alpha1.ImageBuild {
		b := &v1alpha1.ImageBuild{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "demo"}}
		b.Status.Phase, b.Status.LatestImage = phase, latest
		b.Status.LastBuild = &v1alpha1.BuildRecord{Reason: "DeadlineExceeded"}
		return b
	}
	for _, tc := range []struct {
		name      string
		ib        *v1alpha1.ImageBuild
		image     string
		waitHas   string
		wantStuck bool
	}{
		{"never reconciled", ib("", ""), "", "to start its first build", false},
		{"building", ib(v1alpha1.BuildPhaseBuilding, ""), "", "first build of ImageBuild demo/web (phase Building)", false},
		{"first build failed", ib(v1alpha1.BuildPhaseFailed, ""), "", "has not succeeded yet (phase Failed: DeadlineExceeded)", true},
		{"succeeded", ib(v1alpha1.BuildPhaseSucceeded, good), good, "", false},
		{"a later build failed: keep the last image", ib(v1alpha1.BuildPhaseFailed, good), good, "", false},
		{"a later build is running", ib(v1alpha1.BuildPhaseBuilding, good), good, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, wait, failed := BuildImage(tc.ib)
			if img != tc.image || failed != tc.wantStuck || !strings.Contains(wait, tc.waitHas) || (tc.waitHas == "") != (wait == "") {
				t.Errorf("BuildImage = %q, %q, %v; want %q, ~%q, %v", img, wait, failed, tc.image, tc.waitHas, tc.wantStuck)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		app  *v1alpha1.AppDeployment
		want string // "" = valid
	}{
		{"valid", appDeployment(nil), ""},
		{"both images", appDeployment(func(a *v1alpha1.AppDeployment) {
			a.Spec.ImageFrom = &v1alpha1.ImageSource{ImageBuildRef: v1alpha1.LocalObjectReference{Name: "web"}}
		}), "exactly one of spec.image or spec.imageFrom"},
		{"metrics port unknown", appDeployment(func(a *v1alpha1.AppDeployment) { a.Spec.Metrics = &v1alpha1.AppMetrics{Port: "metrics"} }),
			`spec.metrics.port "metrics" must name one of spec.ports`},
		{"ingress port unknown", appDeployment(func(a *v1alpha1.AppDeployment) { a.Spec.Ingress = &v1alpha1.AppIngress{Port: "grpc"} }),
			`spec.ingress.port "grpc" must name one of spec.ports`},
		{"ingress without service", appDeployment(func(a *v1alpha1.AppDeployment) {
			a.Spec.Ingress = &v1alpha1.AppIngress{}
			a.Spec.Service.Type = v1alpha1.ServiceTypeNone
		}), "spec.service.type must not be None"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.app)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}
