package normalize

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// benchTweets renders n realistic tweet records (lists, newlines, retweets).
func benchTweets(n int) string {
	var b strings.Builder
	b.WriteString(quoteAll(tweetsCols))
	f := make([]string, len(tweetsCols))
	for i := 0; i < n; i++ {
		over := map[string]string{
			"userid":        strconv.Itoa(1000 + i%3000),
			"tweet_text":    "RT @someone: this is tweet number " + strconv.Itoa(i) + " with some words #tag https://t.co/abcdef\nand a second line",
			"hashtags":      "['tag', 'other" + strconv.Itoa(i%50) + "']",
			"urls":          "['https://example.com/a/" + strconv.Itoa(i%1000) + "']",
			"user_mentions": "['" + strconv.Itoa(i%700) + "']",
		}
		if i%2 == 0 {
			over["is_retweet"] = "true"
			over["retweet_tweetid"] = strconv.Itoa(900000000000000000 + i%5000)
			over["retweet_userid"] = strconv.Itoa(i % 900)
		}
		r := tweet(i, over)
		for j, c := range tweetsCols {
			f[j] = r[c]
		}
		b.WriteString(quoteAll(f))
	}
	return b.String()
}

// BenchmarkRunTweets normalizes a 100k-row tweets file (gzipped and plain)
// and reports rows/s.
func BenchmarkRunTweets(b *testing.B) {
	const rows = 100_000
	body := benchTweets(rows)
	dir := b.TempDir()
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"csv", []byte(body)},
		{"gzip", gzipBytes(b, body)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := writeSource(b, dir, "bench_"+tc.name, tc.content)
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out, err := os.MkdirTemp(dir, "out")
				if err != nil {
					b.Fatal(err)
				}
				st, err := Run(context.Background(), Input{Dataset: "bench", Files: []SourceFile{f}}, DefaultParams(), out, nil)
				if err != nil || st.Posts != rows {
					b.Fatalf("%v %d", err, st.Posts)
				}
				os.RemoveAll(out)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkRecordReader reads a 100k-row tweets file with the record
// reader alone, with its fast path and without it (encoding/csv).
func BenchmarkRecordReader(b *testing.B) {
	body := []byte(benchTweets(100_000))
	for _, fast := range []bool{true, false} {
		b.Run(map[bool]string{true: "fast", false: "csv"}[fast], func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for i := 0; i < b.N; i++ {
				rr := newRecordReader(bytes.NewReader(body))
				rr.noFast = !fast
				for {
					if _, err := rr.next(); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
				}
			}
		})
	}
}
