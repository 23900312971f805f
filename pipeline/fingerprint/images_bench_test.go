package fingerprint

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/takedown-research/takedown/internal/imagehash"
	"github.com/takedown-research/takedown/internal/mediatest"
	"github.com/takedown-research/takedown/internal/schema"
)

// benchImages are n distinct 1000x750 baseline JPEGs of quality 85.
func benchImages(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = mediatest.JPEG(mediatest.Scene(uint64(i)+1, 1000, 750), 85)
	}
	return out
}

// BenchmarkImageDecode is the plain image/jpeg decode of one 1000x750
// JPEG, for comparison with the stage's images/s.
func BenchmarkImageDecode(b *testing.B) {
	imgs := benchImages(8)
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := range b.N {
		if _, err := jpeg.Decode(bytes.NewReader(imgs[i%len(imgs)])); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRate(b, b.N, cpuSeconds()-cpu0)
}

// BenchmarkImageHash is imagehash.Hash (decode, PDQ, dHash) of one image
// on one core.
func BenchmarkImageHash(b *testing.B) {
	imgs := benchImages(8)
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := range b.N {
		if _, err := HashImageBytes(imgs[i%len(imgs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRate(b, b.N, cpuSeconds()-cpu0)
}

// BenchmarkFingerprintImages runs the stage's image pass (zip streaming,
// sha256, decode, PDQ, dHash, Parquet) over 256 images on GOMAXPROCS
// workers and reports images/s and the peak heap.
func BenchmarkFingerprintImages(b *testing.B) {
	const n = 256
	imgs := benchImages(16)
	var files []mediatest.File
	var posts []schema.Post
	for i := range n {
		id := fmt.Sprint(1000 + i)
		posts = append(posts, schema.Post{Dataset: "ds", PostID: id, AccountID: fmt.Sprint("acc", i%50), PostedAt: int64(i) * 1000})
		files = append(files, mediatest.File{PostID: id, AccountID: fmt.Sprint("acc", i%50), MediaKey: "3_" + id, Ext: "jpg", Data: imgs[i%len(imgs)]})
	}
	dir := b.TempDir()
	postsPath, in := mediaFixture(b, dir, [][]mediatest.File{files}, posts)
	runtime.GC()
	cpu0 := cpuSeconds()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	b.ResetTimer()
	for range b.N {
		out := b.TempDir()
		if _, err := fingerprintImages(context.Background(), in, postsPath, out, nil); err != nil {
			b.Fatal(err)
		}
		_ = filepath.Join(out)
	}
	b.StopTimer()
	close(stop)
	<-done
	reportRate(b, n*b.N, cpuSeconds()-cpu0)
	b.ReportMetric(float64(peak)/(1<<20), "peak-live-MiB")
	_ = imagehash.PDQMinQuality
}

// reportRate reports images per wall second and per CPU second (the
// machine's other load slows the first, not the second), and the CPU
// milliseconds per image.
func reportRate(b *testing.B, images int, cpu float64) {
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
	if cpu > 0 {
		b.ReportMetric(float64(images)/cpu, "images/cpu-s")
		b.ReportMetric(cpu*1000/float64(images), "cpu-ms/image")
	}
}
