package app

import (
	"encoding/json"
	"fmt"
)

// applyConfigOf converts a typed API value the user wrote in the AppDeployment spec (an EnvVar,
// a Probe, ResourceRequirements...) into its apply configuration. Both share the JSON form, and
// the typed values' omitempty tags keep unset fields out, so the result sets exactly what the
// user set. Quantities come out in canonical form ("0.5" becomes "500m"), the form the API server
// stores, so a later comparison with the live object is exact.
func applyConfigOf[T any](typed any) *T {
	data, err := json.Marshal(typed)
	if err != nil {
		panic(fmt.Sprintf("marshalling %T: %v", typed, err)) // only on programming errors
	}
	out := new(T)
	if err := json.Unmarshal(data, out); err != nil {
		panic(fmt.Sprintf("unmarshalling %T into %T: %v", typed, out, err)) // same JSON schema
	}
	return out
}
