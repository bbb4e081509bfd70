package edge

import (
	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/edgeforge/edgeforge/api/v1alpha1"
)

// Names of the ClusterRoles a joining node needs (built into kube-apiserver) and of the groups
// they are granted to, as kubeadm sets them up.
const (
	NodeBootstrapperRole     = "system:node-bootstrapper"
	SelfNodeClientApprovRole = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"
	NodesGroup               = "system:nodes"
)

// BootstrapRBACName is the app.kubernetes.io/name label of the bootstrap ClusterRoleBindings.
const BootstrapRBACName = "edgeforge-edge-bootstrap"

// BootstrapRBACBindingNames are the names of the ClusterRoleBindings of BootstrapRBAC.
var BootstrapRBACBindingNames = []string{
	"edgeforge:node-bootstrapper",
	"edgeforge:node-autoapprove-certificate-rotation",
}

// RetiredBootstrapRBACBindingNames are bindings earlier versions created and edgeforge deletes
// (when they carry its label): "edgeforge:node-autoapprove-bootstrap" let kube-controller-manager
// approve every client certificate an edgeforge token asked for, whatever the node's name.
var RetiredBootstrapRBACBindingNames = []string{"edgeforge:node-autoapprove-bootstrap"}

// BootstrapRBAC are the bindings bootstrap tokens need, under edgeforge's names:
//   - tokens of NodeBootstrapGroup may create node CSRs (system:node-bootstrapper);
//   - nodes may renew their own client certificates (...:selfnodeclient for system:nodes, as
//     kubeadm binds it).
//
// Unlike kubeadm, nothing binds NodeBootstrapGroup to kube-controller-manager's automatic
// approval (...:nodeclient): edgeforge approves its tokens' client CSRs itself, checking the node
// name (ClientCSRDecision).
func BootstrapRBAC() []*rbacv1ac.ClusterRoleBindingApplyConfiguration {
	binding := func(name, role, group string) *rbacv1ac.ClusterRoleBindingApplyConfiguration {
		return rbacv1ac.ClusterRoleBinding(name).
			WithLabels(map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelName: BootstrapRBACName}).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(role)).
			WithSubjects(rbacv1ac.Subject().WithAPIGroup(rbacv1.GroupName).WithKind(rbacv1.GroupKind).WithName(group))
	}
	return []*rbacv1ac.ClusterRoleBindingApplyConfiguration{
		binding(BootstrapRBACBindingNames[0], NodeBootstrapperRole, NodeBootstrapGroup),
		binding(BootstrapRBACBindingNames[1], SelfNodeClientApprovRole, NodesGroup),
	}
}
