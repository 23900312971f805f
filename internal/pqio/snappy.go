package pqio

import (
	"github.com/klauspost/compress/s2"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// snappyCodec writes Snappy blocks with the fast encoder of
// klauspost/compress/s2 (EncodeSnappy), where parquet-go's codec uses its
// slower "better" one. The blocks are plain Snappy, which every reader
// decodes; decoding is parquet-go's own.
type snappyCodec struct{ snappy.Codec }

func (c *snappyCodec) Encode(dst, src []byte) ([]byte, error) {
	n := s2.MaxEncodedLen(len(src))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	return s2.EncodeSnappy(dst[:n], src), nil
}
