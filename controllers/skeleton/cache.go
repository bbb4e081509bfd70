package skeleton

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/edgeforge/edgeforge/controllers/reconnect"
)

// Caches. A kind reads what it owns or references through one of three caches:
//
//   - the manager's cache, narrowed per kind in main.go's cache.Options.ByObject (each kind's
//     CacheOptions: the children edgeforge made, by label): the default;
//   - a private cache (PrivateCache) when the kind needs restrictions of a type that would narrow
//     another kind's watch of the same type in the shared cache: EdgeCluster's Secrets and
//     ConfigMaps in a few namespaces, field-selected, and MonitoringStack's children, labelled
//     with their stack and including cluster-scoped RBAC;
//   - controllers/optionalcrd's watcher for kinds whose CRDs may arrive after the start.

// PrivateCache makes a cache of the kind's own, with the manager's HTTP client, scheme and REST
// mapper and informers that wait out an unreachable API server (controllers/reconnect), and has
// the manager start it with its other caches (before the controllers) and wait
// for it to sync.
func PrivateCache(mgr ctrl.Manager, opts cache.Options) (cache.Cache, error) {
	opts.HTTPClient, opts.Scheme, opts.Mapper = mgr.GetHTTPClient(), mgr.GetScheme(), mgr.GetRESTMapper()
	opts.NewInformer = reconnect.NewInformer
	c, err := cache.New(mgr.GetConfig(), opts)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(privateCache{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// privateCache is started by the manager as a cache (it has GetCache), not as a plain runnable.
type privateCache struct{ cache.Cache }

func (c privateCache) GetCache() cache.Cache { return c.Cache }
