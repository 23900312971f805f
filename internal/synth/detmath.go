package synth

import (
	"math"
	"math/rand/v2"
)

// The generator must give the same bytes on every machine. math.Exp and
// math.Log have architecture-specific assembly (and on amd64 a CPU-dependent
// FMA path), and the Go compiler may fuse x*y+z into one FMA instruction on
// some targets. The helpers below therefore use only +, -, *, / and
// math.Sqrt (all correctly rounded by IEEE 754), and every product that is
// added to something is wrapped in an explicit float64 conversion, which the
// language specification says prevents fusion.

const ln2 = 0.693147180559945309417232121458176568

// detExp returns e**x computed with basic arithmetic only.
func detExp(x float64) float64 {
	if x > 700 {
		x = 700
	}
	if x < -700 {
		return 0
	}
	k := math.Floor(x/ln2 + 0.5)
	r := x - float64(k*ln2)
	sum, term := 1.0, 1.0
	for i := 1; i <= 16; i++ {
		term = float64(term*r) / float64(i)
		sum += term
	}
	return float64(math.Float64frombits(uint64(int64(k)+1023)<<52) * sum)
}

// detLog returns the natural logarithm of x > 0 computed with basic
// arithmetic only. It returns -745 for x <= 0.
func detLog(x float64) float64 {
	if x <= 0 {
		return -745
	}
	bits := math.Float64bits(x)
	e := int((bits>>52)&0x7ff) - 1023
	m := math.Float64frombits(bits&^(uint64(0x7ff)<<52) | uint64(1023)<<52)
	if m > math.Sqrt2 {
		m /= 2
		e++
	}
	s := (m - 1) / (m + 1)
	s2 := float64(s * s)
	sum, term := 0.0, s
	for i := 1; i < 40; i += 2 {
		sum += term / float64(i)
		term = float64(term * s2)
	}
	return float64(2*sum) + float64(float64(e)*ln2)
}

// normal returns a standard normal deviate (Marsaglia's polar method).
func normal(r *rand.Rand) float64 {
	for {
		u := float64(2*r.Float64()) - 1
		v := float64(2*r.Float64()) - 1
		s := float64(u*u) + float64(v*v)
		if s > 0 && s < 1 {
			return float64(u * math.Sqrt(float64(-2*detLog(s))/s))
		}
	}
}

// lognormal returns a log-normal deviate with the given median and sigma.
func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return float64(median * detExp(float64(sigma*normal(r))))
}

// expo returns an exponential deviate with the given mean.
func expo(r *rand.Rand, mean float64) float64 {
	return float64(-mean * detLog(1-r.Float64()))
}

// clampInt bounds v to [lo, hi].
func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
