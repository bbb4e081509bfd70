package v1alpha1

import "time"

// Defaults the controllers need when they read a field. The API server applies the schema's
// defaults (the +kubebuilder:default markers next to each field) on every write and read, so a
// stored object always has these fields; the accessors below give the same values for an object
// built in Go. test/crd's TestDefaultsAreApplied checks that each marker and its constant agree.
const (
	// DefaultTokenTTL is spec.join.tokenTTL's default.
	DefaultTokenTTL = 24 * time.Hour
	// DefaultTolerateDisconnectionFor is spec.autonomy.tolerateDisconnectionFor's default.
	DefaultTolerateDisconnectionFor = time.Hour
	// DefaultDisconnectedThreshold is spec.autonomy.disconnectedThreshold's default (percent).
	DefaultDisconnectedThreshold int32 = 70
	// DefaultBuildsHistoryLimit is the default of spec.successfulBuildsHistoryLimit and
	// spec.failedBuildsHistoryLimit.
	DefaultBuildsHistoryLimit int32 = 3
)

// DefaultJoinMethods is spec.join.methods' default.
func DefaultJoinMethods() []JoinMethod { return []JoinMethod{JoinMethodKubeadm} }

// TokenTTL is the lifetime of the pool's bootstrap tokens (spec.join.tokenTTL).
func (s *EdgeClusterSpec) TokenTTL() time.Duration {
	if s.Join == nil || s.Join.TokenTTL == nil {
		return DefaultTokenTTL
	}
	return s.Join.TokenTTL.Duration
}

// DisconnectionTolerance is how long the pool's app pods stay on an unreachable or not-ready
// node (spec.autonomy.tolerateDisconnectionFor); forever is true for "Forever". A value the
// schema would have refused reads as the default.
func (s *EdgeClusterSpec) DisconnectionTolerance() (d time.Duration, forever bool) {
	if s.Autonomy == nil || s.Autonomy.TolerateDisconnectionFor == "" {
		return DefaultTolerateDisconnectionFor, false
	}
	if s.Autonomy.TolerateDisconnectionFor == DisconnectionForever {
		return 0, true
	}
	d, err := time.ParseDuration(s.Autonomy.TolerateDisconnectionFor)
	if err != nil || d < time.Second {
		return DefaultTolerateDisconnectionFor, false
	}
	return d, false
}

// DisconnectedThreshold is the percentage of unreachable members that makes the pool
// Disconnected (spec.autonomy.disconnectedThreshold).
func (s *EdgeClusterSpec) DisconnectedThreshold() int32 {
	if s.Autonomy == nil || s.Autonomy.DisconnectedThreshold == nil {
		return DefaultDisconnectedThreshold
	}
	return *s.Autonomy.DisconnectedThreshold
}

// JoinMethods are the methods join commands are rendered for (spec.join.methods).
func (s *EdgeClusterSpec) JoinMethods() []JoinMethod {
	if s.Join == nil || len(s.Join.Methods) == 0 {
		return DefaultJoinMethods()
	}
	return s.Join.Methods
}

// HistoryLimits are how many succeeded and failed build Jobs are kept
// (spec.successfulBuildsHistoryLimit, spec.failedBuildsHistoryLimit).
func (s *ImageBuildSpec) HistoryLimits() (succeeded, failed int) {
	value := func(p *int32) int {
		if p == nil {
			return int(DefaultBuildsHistoryLimit)
		}
		return int(*p)
	}
	return value(s.SuccessfulBuildsHistoryLimit), value(s.FailedBuildsHistoryLimit)
}
