package cluster

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseBytes parses a --memory value: a whole or decimal number with an
// optional unit, K, M, G or T (powers of 1024, with or without a trailing
// "iB" or "B"), e.g. "1GiB", "512M", "1.5G"; a plain number is bytes.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	u := strings.ToUpper(t)
	mult := 1.0
	for _, suf := range []struct {
		s string
		m float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
		{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(u, suf.s) {
			u, mult = strings.TrimSpace(u[:len(u)-len(suf.s)]), suf.m
			break
		}
	}
	f, err := strconv.ParseFloat(u, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("--memory must be a size such as 1GiB, 512M or 2G, got %q", s)
	}
	return int64(f * mult), nil
}

// FormatBytes formats a size in the largest binary unit that keeps it at
// least 1, with one decimal: "1.5 GiB", "512.0 MiB", "100 B".
func FormatBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit && exp < 3; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGT"[exp])
}
