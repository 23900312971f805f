package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/archive"
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

// TestNormalizeInputErrorsExit3 checks that the errors this package's
// callers get for unreadable input files are bad input (exit code 3):
// a file that is not UTF-8 text, an archive that breaks a safety rule of
// internal/archive, a quoted field never closed.
func TestNormalizeInputErrorsExit3(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("x.csv: %w: file x.csv is UTF-16 encoded", normalize.ErrNotText),
		fmt.Errorf("x.zip: %w: %w: entry too big", normalize.ErrCorruptArchive, archive.ErrUnsafe),
		fmt.Errorf("x.csv: %w: the record at line 3 opens a quoted field that is never closed", normalize.ErrRecordTooLarge),
	} {
		if got := exitCode(err); got != 3 {
			t.Errorf("exitCode(%v) = %d, want %d", err, got, 3)
		}
	}
}
