package main

import (
	"slices"
	"testing"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/pipeline/normalize"
)

// TestDatasetFormatsAgree keeps the formats a descriptor may name
// (datasets.Formats, checked by `datasets add`) in step with the formats
// normalize reads: datasets cannot import a stage, the command binds both.
func TestDatasetFormatsAgree(t *testing.T) {
	want := append([]string{normalize.FormatAuto}, normalize.Formats()...)
	if datasets.FormatAuto != normalize.FormatAuto || !slices.Equal(datasets.Formats, want) {
		t.Fatalf("datasets.Formats = %v, normalize has %v", datasets.Formats, want)
	}
}
