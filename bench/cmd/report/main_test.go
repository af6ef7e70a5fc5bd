package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	in := `goos: linux
BenchmarkCompare/bare-2         	  100	       100.0 ns/op	     320 B/op	       1 allocs/op
BenchmarkCompare/bare-2         	  100	       120.0 ns/op	     320 B/op	       1 allocs/op
BenchmarkCompare/bare-2         	  100	       110.0 ns/op	     320 B/op	       1 allocs/op
BenchmarkCompare/floor-2        	  100	       500.0 ns/op	     400 B/op	       3 allocs/op
BenchmarkCompare/privatevideo/cookie-session-2         	  100	      1210 ns/op	    1144 B/op	       6 allocs/op
BenchmarkScale/live=1K/redeem-2 	  100	      4000 ns/op	    1500 B/op	      10 allocs/op	       150.5 bytes/live-token
PASS
`
	order, samples, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	write(&out, order, samples)
	got := out.String()
	for _, want := range []string{
		"| bare | 110 | 320 | 1 | 0.00 ns, +0 allocs | 1.00 | 0.22 |",
		"| privatevideo/cookie-session | 1210 | 1144 | 6 | 1100 ns, +5 allocs | 11.00 | 2.42 |",
		"| live=1K/redeem | 4000 | 1500 | 10 | 150 |",
		"**Scale** (medians of 1 runs)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
