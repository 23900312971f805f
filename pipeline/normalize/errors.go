package normalize

import "github.com/takedown-research/takedown/internal/errkind"

// Sentinel errors of the normalize stage. Each one means the input data is
// invalid (the CLI maps them to exit code 3); the wrapping error names the
// file, and where it applies the line and column.
var (
	// ErrUnknownHeader means a file's header matches no known layout. The
	// wrapping error lists, for each layout that was tried, the columns it
	// expected and did not find.
	ErrUnknownHeader = errkind.New(errkind.BadInput, "header matches no known layout")

	// ErrNotText means a file is not UTF-8 text: UTF-16 or UTF-32 (with or
	// without a byte order mark), or binary (see sniffText). The wrapping
	// error names the file and says how to convert it.
	ErrNotText = errkind.New(errkind.BadInput, "not UTF-8 CSV text")

	// ErrCorruptArchive means a zip or gzip container cannot be read: a bad
	// directory, a bad checksum, a stream cut short, or an unsupported
	// compression method.
	ErrCorruptArchive = errkind.New(errkind.BadInput, "corrupt or unsupported archive")

	// ErrRecordTooLarge means a quoted field opened in a record is never
	// closed: the record would run over MaxRecordBytes to the end of the
	// file (or the header alone is over the limit). A record over the limit
	// that ends is not an error: it is a too_large reject.
	ErrRecordTooLarge = errkind.New(errkind.BadInput, "csv record too large")

	// ErrMixedHashing means a dataset combines the hashed and the unhashed
	// form of a release (file names with "_hashed" and "_unhashed"): the
	// same accounts would appear under two ids. Describe them as two
	// datasets.
	ErrMixedHashing = errkind.New(errkind.BadInput, "hashed and unhashed files mixed in one dataset")
)

// MaxRecordBytes bounds the bytes of one CSV record without its line
// terminator (the largest real tweet record is a few kilobytes). A longer
// record is rejected (too_large) without being held in memory.
const MaxRecordBytes = 16 << 20
