package fingerprint

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
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

// BenchmarkImageDecode is the plain image/jpeg decode of 1000x750 JPEGs
// on GOMAXPROCS goroutines, for comparison with the routes' images/s.
func BenchmarkImageDecode(b *testing.B) {
	imgs := benchImages(8)
	cpu0 := cpuSeconds()
	b.ResetTimer()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if _, err := jpeg.Decode(bytes.NewReader(imgs[i%int64(len(imgs))])); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportRate(b, b.N, cpuSeconds()-cpu0)
}

// BenchmarkImageHash is the stage's hashing of one image's bytes (decode,
// PDQ, dHash) by each decode route, on GOMAXPROCS goroutines.
func BenchmarkImageHash(b *testing.B) {
	imgs := benchImages(8)
	for _, route := range []imagehash.Route{imagehash.Exact, imagehash.Fast} {
		b.Run(route.String(), func(b *testing.B) {
			cpu0 := cpuSeconds()
			b.ResetTimer()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					h, err := HashImageBytesWith(imgs[i%int64(len(imgs))], route)
					if err != nil {
						b.Error(err)
						return
					}
					if h.Fast != (route == imagehash.Fast) {
						b.Errorf("route %v hashed with Fast = %v", route, h.Fast)
						return
					}
				}
			})
			b.StopTimer()
			reportRate(b, b.N, cpuSeconds()-cpu0)
		})
	}
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
	for _, route := range []imagehash.Route{imagehash.Exact, imagehash.Fast} {
		b.Run(route.String(), func(b *testing.B) {
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
				st, err := fingerprintImages(context.Background(), in, postsPath, b.TempDir(), route, nil)
				if err != nil {
					b.Fatal(err)
				}
				if want := int64(0); route == imagehash.Fast && st.FastDecoded != n || route == imagehash.Exact && st.FastDecoded != want {
					b.Fatalf("route %v: %d of %d images by the fast route", route, st.FastDecoded, n)
				}
			}
			b.StopTimer()
			close(stop)
			<-done
			reportRate(b, n*b.N, cpuSeconds()-cpu0)
			b.ReportMetric(float64(peak)/(1<<20), "peak-live-MiB")
		})
	}
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
