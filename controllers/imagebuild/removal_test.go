package imagebuild

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/edgeforge/edgeforge/internal/imagebuild"
	"github.com/edgeforge/edgeforge/test/testenv"
)

// A file removed from an inline build context leaves the context ConfigMap: the child is
// applied from what edgeforge owns, so a removal reaches it (a subset check never would).
func TestRemovedInlineFileLeavesTheContext(t *testing.T) {
	ns := namespace(t)
	ib := inlineBuild(ns, "trim")
	ib.Spec.Source.Inline.Files["extra.txt"] = "to be removed"
	create(t, ib)
	cm := &corev1.ConfigMap{}
	name := imagebuild.ContextConfigMapName(ib)
	testenv.Eventually(t, timeout, "the context with both files", func() error {
		if err := get(t, ns, name, cm); err != nil {
			return err
		}
		return testenv.Expect(cm.Data["index.html"] != "" && cm.Data["extra.txt"] != "", "data keys %v", keys(cm.Data))
	})

	testenv.Eventually(t, timeout, "removing extra.txt from the spec", func() error {
		if err := get(t, ns, "trim", ib); err != nil {
			return err
		}
		delete(ib.Spec.Source.Inline.Files, "extra.txt")
		return k8s.Update(ctxT(t), ib)
	})
	testenv.Eventually(t, timeout, "the context without extra.txt", func() error {
		if err := get(t, ns, name, cm); err != nil {
			return err
		}
		_, still := cm.Data["extra.txt"]
		return testenv.Expect(!still && cm.Data["index.html"] != "", "data keys %v", keys(cm.Data))
	})
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
