package note

import (
	"testing"

	"go.uber.org/fx"
)

// TestBootsTheGraph is an end-to-end test in a unit test's place.
func TestBootsTheGraph(t *testing.T) {
	if err := fx.ValidateApp(); err != nil {
		t.Fatal(err)
	}
}
