// Package s3test runs an S3-compatible server on 127.0.0.1 for tests
// (gofakes3 with its memory backend, in process), with a middleware in
// front of it that counts the bytes of every request and injects faults:
// 503 replies to chosen PUTs, slow GETs, a conflicting write of an object
// just before a conditional PUT of it, and refused credentials. Clients
// reach it through the ordinary S3 client path, with the endpoint given in
// the workspace URL.
package s3test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// AccessKey is the access key id the server accepts; any other is refused
// with 403 AccessDenied.
const AccessKey = "takedown-test"

// Server is a running S3 test server with one bucket.
type Server struct {
	URL     string // http://127.0.0.1:PORT
	Bucket  string
	backend *s3mem.Backend

	mu     sync.Mutex
	counts map[string]*Count // by method and stage of key, see Count
	log    []Request

	// FailPut, when set, is asked before every PUT; true replies 503
	// SlowDown without passing the request on.
	FailPut func(key string) bool
	// SlowGet delays every GET of an object by this long.
	SlowGet time.Duration
	// BeforeConditionalPut, when set, runs before a PUT with If-Match or
	// If-None-Match is passed on (to write a conflicting version first).
	BeforeConditionalPut func(key string)
}

// Count is what the clients moved in one kind of request.
type Count struct {
	Requests int   `json:"requests"`
	Bytes    int64 `json:"bytes"`
	Ranged   int   `json:"ranged"` // GETs with a Range header
}

// Request is one request the server saw.
type Request struct {
	Method, Key string
	Range       string
	Bytes       int64
	Status      int
}

// Start starts a server with the bucket and sets the environment of the
// test so that the AWS SDK finds its credentials and no metadata service.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(be, gofakes3.WithTimeSkewLimit(0))
	s := &Server{Bucket: bucket, backend: be, counts: map[string]*Count{}}
	hs := httptest.NewServer(s.middleware(fake.Server()))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	return s
}

// WorkspaceURL is the URL of a workspace under prefix in the bucket.
func (s *Server) WorkspaceURL(prefix string) string {
	q := url.Values{"endpoint": {s.URL}, "use_path_style": {"true"}, "region": {"us-east-1"}}
	return "s3://" + s.Bucket + "/" + prefix + "?" + q.Encode()
}

// Put writes an object straight into the backend, past the middleware.
func (s *Server) Put(key string, data []byte) error {
	_, err := s.backend.PutObject(s.Bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil)
	return err
}

// Get reads an object straight from the backend.
func (s *Server) Get(key string) ([]byte, error) {
	o, err := s.backend.GetObject(s.Bucket, key, nil)
	if err != nil {
		return nil, err
	}
	defer o.Contents.Close()
	return io.ReadAll(o.Contents)
}

// Keys lists the keys under prefix.
func (s *Server) Keys(prefix string) []string {
	res, err := s.backend.ListBucket(s.Bucket, &gofakes3.Prefix{Prefix: prefix, HasPrefix: true}, gofakes3.ListBucketPage{})
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range res.Contents {
		out = append(out, c.Key)
	}
	sort.Strings(out)
	return out
}

// Reset forgets the counts and the request log.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]*Count{}
	s.log = nil
}

// Counts returns the counts by method ("GET", "PUT", "HEAD", ...).
func (s *Server) Counts() map[string]Count {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Count{}
	for k, c := range s.counts {
		out[k] = *c
	}
	return out
}

// Log returns the requests seen since the last Reset.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

func (s *Server) key(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/"+s.Bucket)
	return strings.TrimPrefix(p, "/")
}

type countingWriter struct {
	http.ResponseWriter
	n      int64
	status int
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

type countingReader struct {
	io.ReadCloser
	n *int64
}

func (r countingReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	*r.n += int64(n)
	return n, err
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
}

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := s.key(r)
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+AccessKey+"/") {
			s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
			return
		}
		var in int64
		if r.Body != nil {
			r.Body = countingReader{r.Body, &in}
		}
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		s.mu.Lock()
		failPut, slow, before := s.FailPut, s.SlowGet, s.BeforeConditionalPut
		s.mu.Unlock()
		switch {
		case r.Method == http.MethodPut && failPut != nil && failPut(key):
			io.Copy(io.Discard, r.Body)
			s3Error(cw, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		case r.Method == http.MethodGet && key != "" && slow > 0:
			time.Sleep(slow)
			next.ServeHTTP(cw, r)
		default:
			if r.Method == http.MethodPut && before != nil && (r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != "") {
				before(key)
			}
			next.ServeHTTP(cw, r)
		}
		method := r.Method
		if r.Method == http.MethodGet && key != "" && r.URL.Query().Has("list-type") {
			method = "LIST"
		} else if r.Method == http.MethodGet && (key == "" || strings.HasSuffix(key, "/")) {
			method = "LIST"
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		c := s.counts[method]
		if c == nil {
			c = &Count{}
			s.counts[method] = c
		}
		c.Requests++
		c.Bytes += in + cw.n
		if r.Header.Get("Range") != "" {
			c.Ranged++
		}
		s.log = append(s.log, Request{Method: method, Key: key, Range: r.Header.Get("Range"), Bytes: in + cw.n, Status: cw.status})
	})
}
