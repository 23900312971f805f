package runner

import (
	"testing"

	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/fingerprint"
)

// TestNormalizerVersionsAgree keeps the fingerprint stage's normalizer
// version and the one the cluster stage accepts in step: the stages cannot
// import each other, so the runner, which binds both, checks it.
func TestNormalizerVersionsAgree(t *testing.T) {
	if fingerprint.NormalizerVersion != cluster.NormalizerVersion {
		t.Fatalf("fingerprint.NormalizerVersion = %d, cluster.NormalizerVersion = %d: bump both together",
			fingerprint.NormalizerVersion, cluster.NormalizerVersion)
	}
}
