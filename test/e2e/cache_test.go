package e2e

// The suite runs the operator it builds with `go build` (startOperator), which go test's result
// cache cannot see: importing the operator's packages here makes a change to any of them (and
// what they import) invalidate a cached e2e result, and startOperator reads main.go (Stat), which
// the cache also tracks.
import (
	_ "github.com/edgeforge/edgeforge/controllers"
)
