package owner

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

func TestControllerReference(t *testing.T) {
	app := &v1alpha1.AppDeployment{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: types.UID("u-1")}}
	ref := ControllerReference(app, "AppDeployment")
	if *ref.APIVersion != "edgeforge.io/v1alpha1" || *ref.Kind != "AppDeployment" || *ref.Name != "web" ||
		*ref.UID != "u-1" || !*ref.Controller || !*ref.BlockOwnerDeletion {
		t.Errorf("unexpected reference %+v", ref)
	}
}
