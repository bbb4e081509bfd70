package settings

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestParseResourceList(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    map[corev1.ResourceName]string
		wantErr bool
	}{
		{in: "", want: map[corev1.ResourceName]string{}},
		{in: DefaultBuildRequests, want: map[corev1.ResourceName]string{"cpu": "500m", "memory": "512Mi"}},
		{in: " memory = 4Gi , ephemeral-storage=10Gi,", want: map[corev1.ResourceName]string{"memory": "4Gi", "ephemeral-storage": "10Gi"}},
		{in: "cpu", wantErr: true},
		{in: "=1", wantErr: true},
		{in: "memory=lots", wantErr: true},
		{in: "cpu=-1", wantErr: true},
	} {
		got, err := ParseResourceList(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if tc.wantErr {
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
		for name, q := range tc.want {
			if v, ok := got[name]; !ok || v.String() != q {
				t.Errorf("%q: %s = %v, want %s", tc.in, name, got[name], q)
			}
		}
	}
}
