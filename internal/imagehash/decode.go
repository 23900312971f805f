package imagehash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/bits"

	"github.com/corona10/goimagehash"
	"golang.org/x/image/webp"

	"github.com/takedown-research/takedown/internal/errkind"
)

// Hashes are the perceptual hashes of one image.
type Hashes struct {
	// PDQ is the 256-bit PDQ hash; Quality its quality score (0-100, see
	// PDQMinQuality).
	PDQ     PDQHash
	Quality int
	// DHash is the 64-bit difference hash (goimagehash.DifferenceHash: 9x8
	// bilinear downsample, one bit per horizontally adjacent pair).
	DHash uint64
	// Width and Height are the decoded image's (the first frame's for a GIF).
	Width, Height int
	// Format is "jpeg", "png", "gif" or "webp".
	Format string
	// Fast is true when the fast route hashed the image (a large JPEG read
	// by its DC coefficients, see Fast); false for the exact route.
	Fast bool
}

// Reason says why bytes were not hashed.
type Reason int

// The reasons an image does not decode.
const (
	// UnknownFormat: not a JPEG, PNG, GIF or WebP by its leading bytes.
	UnknownFormat Reason = iota + 1
	// Truncated: the data ends before the image does.
	Truncated
	// TooLarge: the header declares more pixels than Options.MaxPixels
	// (refused before decoding, so a small file cannot expand into
	// gigabytes), or a side of zero.
	TooLarge
	// Corrupt: the decoder rejected the data (bad header, bad checksum,
	// invalid compressed stream).
	Corrupt
	// Unsupported: a valid file using a feature the decoder lacks (for
	// example 12-bit JPEG, or arithmetic coding).
	Unsupported
)

var reasonNames = map[Reason]string{
	UnknownFormat: "unknown format", Truncated: "truncated", TooLarge: "too large",
	Corrupt: "corrupt", Unsupported: "unsupported",
}

func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// DecodeError is the error Hash returns for bytes that do not decode to an
// image. Its kind is errkind.BadInput. It does not know where the bytes
// came from: callers wrap it with the media file's name (and the archive
// entry or tweet it belongs to).
type DecodeError struct {
	Reason Reason
	Format string // the sniffed format, "" for UnknownFormat
	Err    error  // the decoder's error, if any
}

func (e *DecodeError) Error() string {
	msg := "image does not decode: " + e.Reason.String()
	if e.Format != "" {
		msg += " (" + e.Format + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Kind makes every DecodeError a bad-input error for errkind.Of.
func (e *DecodeError) Kind() errkind.Kind { return errkind.BadInput }

// ReasonOf returns the Reason of a DecodeError in err's chain, or 0.
func ReasonOf(err error) Reason {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	return 0
}

// DefaultMaxPixels bounds width*height: 2^25 (about 33.5 million pixels,
// e.g. 5792x5792), above Twitter's 4096x4096 upload limit. Hashing holds
// the decoded image plus two float32 planes, about 11 bytes per pixel.
const DefaultMaxPixels = 1 << 25

// Options tune Hash. The zero value is the defaults.
type Options struct {
	// MaxPixels refuses images whose header declares more pixels
	// (0 means DefaultMaxPixels).
	MaxPixels int
	// Decode is the route: Exact (the zero value) or Fast.
	Decode Route
}

// Hash decodes an image (JPEG, PNG, GIF's first frame, WebP) and returns
// its hashes, or a *DecodeError.
func Hash(data []byte) (Hashes, error) { return HashWith(data, Options{}) }

// HashWith is Hash with options.
func HashWith(data []byte, opt Options) (Hashes, error) {
	if opt.Decode == Fast {
		if c, ok := sniff(data); ok && c.name == "jpeg" {
			cfg, err := header(c, data, opt.maxPixels())
			if err != nil {
				return Hashes{}, err
			}
			if h, ok := hashFast(data, cfg); ok {
				return h, nil
			}
		}
	}
	img, format, err := Decode(data, opt)
	if err != nil {
		return Hashes{}, err
	}
	return HashImage(img, format)
}

// HashImage hashes an already decoded image; format is recorded as given.
func HashImage(img image.Image, format string) (Hashes, error) {
	h := Hashes{Format: format, Width: img.Bounds().Dx(), Height: img.Bounds().Dy()}
	h.PDQ, h.Quality = PDQ(img)
	d, err := DHash(img)
	if err != nil {
		return Hashes{}, err
	}
	h.DHash = d
	return h, nil
}

// DHash is goimagehash's 64-bit difference hash of img.
func DHash(img image.Image) (uint64, error) {
	d, err := goimagehash.DifferenceHash(img)
	if err != nil {
		return 0, err
	}
	return d.GetHash(), nil
}

// PHash is goimagehash's 64-bit DCT perception hash of img (64x64
// bilinear downsample, 8x8 low frequencies against their median).
func PHash(img image.Image) (uint64, error) {
	p, err := goimagehash.PerceptionHash(img)
	if err != nil {
		return 0, err
	}
	return p.GetHash(), nil
}

// DHashDistance is the Hamming distance between two 64-bit hashes.
func DHashDistance(a, b uint64) int { return bits.OnesCount64(a ^ b) }

type codec struct {
	name   string
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var (
	jpegCodec = codec{"jpeg", jpeg.DecodeConfig, jpeg.Decode}
	pngCodec  = codec{"png", png.DecodeConfig, png.Decode}
	gifCodec  = codec{"gif", gif.DecodeConfig, gif.Decode}
	webpCodec = codec{"webp", webp.DecodeConfig, webp.Decode}
)

// sniff picks the decoder by the leading bytes itself, rather than through
// image.Decode's registry, so that what decodes does not depend on which
// other packages happen to register formats.
func sniff(data []byte) (codec, bool) {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8")):
		return jpegCodec, true
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return pngCodec, true
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return gifCodec, true
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return webpCodec, true
	}
	return codec{}, false
}

// Decode decodes data (JPEG, PNG, GIF's first frame, WebP), reading the
// header first and refusing more than the allowed pixels before decoding.
// It returns the image and its format name, or a *DecodeError.
func Decode(data []byte, opt Options) (image.Image, string, error) {
	c, ok := sniff(data)
	if !ok {
		return nil, "", &DecodeError{Reason: UnknownFormat}
	}
	maxPixels := opt.maxPixels()
	if _, err := header(c, data, maxPixels); err != nil {
		return nil, "", err
	}
	img, err := safeDecode(c, data)
	if err != nil {
		return nil, "", classify(c.name, data, err)
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 || b.Dx() > maxPixels/b.Dy() {
		return nil, "", &DecodeError{Reason: TooLarge, Format: c.name,
			Err: fmt.Errorf("decoded %dx%d pixels, limit %d pixels", b.Dx(), b.Dy(), maxPixels)}
	}
	return img, c.name, nil
}

func (o Options) maxPixels() int {
	if o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

// header reads the image's header with the codec's DecodeConfig and
// refuses more than maxPixels, or a side of zero.
func header(c codec, data []byte, maxPixels int) (image.Config, error) {
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return cfg, classify(c.name, data, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPixels/cfg.Height {
		return cfg, &DecodeError{Reason: TooLarge, Format: c.name,
			Err: fmt.Errorf("%dx%d pixels, limit %d pixels", cfg.Width, cfg.Height, maxPixels)}
	}
	return cfg, nil
}

// Info is what an image's header says.
type Info struct {
	// Format is "jpeg", "png", "gif" or "webp".
	Format        string
	Width, Height int
}

// Sniff names the image format of data by its leading bytes ("jpeg",
// "png", "gif", "webp"), or "" when it is none of them.
func Sniff(data []byte) string {
	c, _ := sniff(data)
	return c.name
}

// Probe reads an image's header without decoding its pixels: the format
// by the leading bytes, the size by the codec's DecodeConfig (refused
// above the allowed pixels, so a small file declaring 60000x60000 costs
// nothing), and whether the file ends as its format does. It returns the
// header's facts, or a *DecodeError with the reason Decode would give
// (UnknownFormat, TooLarge, Truncated, Corrupt, Unsupported). A file whose
// header and end are sound may still fail to decode: only Decode reads the
// pixels.
func Probe(data []byte, opt Options) (Info, error) {
	c, ok := sniff(data)
	if !ok {
		return Info{}, &DecodeError{Reason: UnknownFormat}
	}
	cfg, err := header(c, data, opt.maxPixels())
	if err != nil {
		return Info{Format: c.name}, err
	}
	if !complete(c.name, data) {
		return Info{Format: c.name}, &DecodeError{Reason: Truncated, Format: c.name,
			Err: errors.New("the file ends before its format's end marker")}
	}
	return Info{Format: c.name, Width: cfg.Width, Height: cfg.Height}, nil
}

// safeDecode turns a decoder panic into an error: the decoders are meant
// not to panic on any input, but a hashing pass over millions of files
// must not die on one that does.
func safeDecode(c codec, data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return c.decode(bytes.NewReader(data))
}

// classify gives a decoder error its reason. The decoders do not type
// their errors for running out of data (they say "short Huffman data",
// "not enough pixel data", ...), so truncation is told by the file itself:
// a file that fails to decode and lacks its format's end (JPEG's EOI
// marker, PNG's IEND chunk, GIF's trailer byte, the length WebP's RIFF
// header declares) is truncated.
func classify(format string, data []byte, err error) error {
	reason := Corrupt
	var je jpeg.UnsupportedError
	var pe png.UnsupportedError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), !complete(format, data):
		reason = Truncated
	case errors.As(err, &je), errors.As(err, &pe):
		reason = Unsupported
	}
	return &DecodeError{Reason: reason, Format: format, Err: err}
}

// complete reports whether data ends as a whole file of the format does.
func complete(format string, data []byte) bool {
	// Tolerate padding after the end, as some writers add.
	end := bytes.TrimRight(data, "\x00\r\n ")
	switch format {
	case "jpeg":
		return len(end) > 2 && bytes.HasSuffix(end, []byte("\xff\xd9"))
	case "png":
		return bytes.HasSuffix(end, []byte("IEND\xaeB`\x82"))
	case "gif":
		return bytes.HasSuffix(end, []byte{0x3b})
	case "webp":
		return len(data) >= 8 && uint64(len(data)) >= 8+uint64(binary.LittleEndian.Uint32(data[4:8]))
	}
	return true
}
