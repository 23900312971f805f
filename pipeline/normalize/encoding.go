package normalize

import (
	"bytes"
	"fmt"
	"path"
	"strings"
)

// sniffBytes is how many bytes at the start of each stream sniffText
// examines.
const sniffBytes = 4096

// Text kinds sniffText tells apart.
const (
	textUTF8    = ""         // UTF-8 (or ASCII) text, maybe with a UTF-8 BOM: read as CSV
	textUTF16LE = "UTF-16LE" // little-endian UTF-16
	textUTF16BE = "UTF-16BE" // big-endian UTF-16
	textUTF32LE = "UTF-32LE" // little-endian UTF-32 (BOM FF FE 00 00)
	textUTF32BE = "UTF-32BE" // big-endian UTF-32 (BOM 00 00 FE FF)
	textBinary  = "binary"   // NUL and control bytes: not text
)

// sniffText tells, from the first bytes of a stream, whether it is text the
// CSV reader can read (UTF-8) or something it would misread as CSV with bare
// quote and field count errors. The rules, in order:
//
//   - a UTF-32 byte order mark (FF FE 00 00, 00 00 FE FF): UTF-32;
//   - a UTF-16 byte order mark (FF FE, FE FF): UTF-16;
//   - no byte order mark, but at least 4 and at least half of the byte pairs
//     are an ASCII character and a NUL (h\0e\0 or \0h\0e): UTF-16 without a
//     mark;
//   - at least 4 NUL or control bytes (below 0x20, other than tab, LF, CR and
//     form feed), and more than 1 in 20 of the bytes examined: binary.
//
// A UTF-8 file with a stray NUL or control byte is text: its record keeps
// the byte. It returns the kind and, for a non-text kind, the evidence.
func sniffText(head []byte) (kind, evidence string) {
	if len(head) > sniffBytes {
		head = head[:sniffBytes]
	}
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE, 0, 0}):
		return textUTF32LE, "byte order mark FF FE 00 00"
	case bytes.HasPrefix(head, []byte{0, 0, 0xFE, 0xFF}):
		return textUTF32BE, "byte order mark 00 00 FE FF"
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return textUTF16LE, "byte order mark FF FE"
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return textUTF16BE, "byte order mark FE FF"
	}
	pairs := len(head) / 2
	var le, be int
	for i := 0; i+1 < len(head); i += 2 {
		a, b := head[i], head[i+1]
		switch {
		case b == 0 && asciiText(a):
			le++
		case a == 0 && asciiText(b):
			be++
		}
	}
	switch {
	case le >= 4 && le*2 >= pairs:
		return textUTF16LE, fmt.Sprintf("no byte order mark, a NUL after %d of the first %d characters", le, pairs)
	case be >= 4 && be*2 >= pairs:
		return textUTF16BE, fmt.Sprintf("no byte order mark, a NUL before %d of the first %d characters", be, pairs)
	}
	ctl := 0
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			ctl++
		}
	}
	if ctl >= 4 && ctl*20 > len(head) {
		return textBinary, fmt.Sprintf("%d of its first %d bytes are NUL or control bytes", ctl, len(head))
	}
	return textUTF8, ""
}

// asciiText reports a printable ASCII byte or white space.
func asciiText(c byte) bool { return c >= 0x20 && c < 0x7f || c == '\t' || c == '\n' || c == '\r' }

// notTextError is the error for a stream sniffText refuses: it names the
// file (and zip entry), what it is, and how to make a UTF-8 CSV of it.
func notTextError(t streamTask, container, kind, evidence string) error {
	if kind == textBinary {
		return fmt.Errorf("%s: %w: file %s is binary, not CSV (%s): check that the dataset lists the right file; a spreadsheet must be exported as CSV (UTF-8)",
			t.name, ErrNotText, t.name, evidence)
	}
	from := strings.TrimSuffix(strings.TrimSuffix(kind, "LE"), "BE") // with a mark, iconv reads the order from it
	if !strings.HasPrefix(evidence, "byte order mark") {
		from = kind
	}
	base := path.Base(t.file.Name)
	if t.s.entry != "" {
		base = path.Base(t.s.entry)
	}
	out := strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".csv") + "-utf8.csv"
	var cmd string
	switch container {
	case containerZip:
		cmd = fmt.Sprintf("unzip -p %s %s | iconv -f %s -t UTF-8 > %s", t.file.Name, t.s.entry, from, out)
	case containerGzip:
		cmd = fmt.Sprintf("gunzip -c %s | iconv -f %s -t UTF-8 > %s", t.file.Name, from, out)
	default:
		cmd = fmt.Sprintf("iconv -f %s -t UTF-8 %s > %s", from, t.file.Name, out)
	}
	return fmt.Errorf("%s: %w: file %s is %s encoded (%s): convert it to UTF-8 with %s, and use the converted file in the dataset instead",
		t.name, ErrNotText, t.name, strings.TrimSuffix(strings.TrimSuffix(kind, "LE"), "BE"), evidence, cmd)
}
