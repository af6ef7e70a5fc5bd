// Command report turns `go test -bench` output (several -count runs) into
// the Markdown tables of BENCHMARKS.md: the median of each benchmark's
// ns/op, B/op and allocs/op, its cost over the bare handler, and its ratio to
// the bare handler and to the floor.
//
//	go test -run '^$' -bench Compare -benchmem -count 10 ./bench | go run ./bench/cmd/report
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// sample is one benchmark's runs.
type sample struct {
	ns, bytes, allocs []float64
	extra             map[string][]float64 // custom metrics (bytes/live-token, …)
}

var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func main() {
	order, samples, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if len(order) == 0 {
		fmt.Fprintln(os.Stderr, "report: no benchmark lines on standard input")
		os.Exit(1)
	}
	write(os.Stdout, order, samples)
}

func parse(r io.Reader) ([]string, map[string]*sample, error) {
	var order []string
	samples := map[string]*sample{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name := m[1]
		s := samples[name]
		if s == nil {
			s = &sample{extra: map[string][]float64{}}
			samples[name] = s
			order = append(order, name)
		}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %q: %w", name, fields[i], err)
			}
			switch unit := fields[i+1]; unit {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "B/op":
				s.bytes = append(s.bytes, v)
			case "allocs/op":
				s.allocs = append(s.allocs, v)
			default:
				s.extra[unit] = append(s.extra[unit], v)
			}
		}
	}
	return order, samples, sc.Err()
}

// write prints one table per benchmark family (the name before the first
// slash); families with a "bare" and a "floor" row get ratios to them.
func write(w io.Writer, order []string, samples map[string]*sample) {
	var families []string
	byFamily := map[string][]string{}
	for _, name := range order {
		fam, _, _ := strings.Cut(name, "/")
		if _, ok := byFamily[fam]; !ok {
			families = append(families, fam)
		}
		byFamily[fam] = append(byFamily[fam], name)
	}
	for _, fam := range families {
		names := byFamily[fam]
		bare, hasBare := samples[fam+"/bare"]
		floor, hasFloor := samples[fam+"/floor"]
		var units []string
		for _, n := range names {
			for u := range samples[n].extra {
				if !slices.Contains(units, u) {
					units = append(units, u)
				}
			}
		}
		slices.Sort(units)
		fmt.Fprintf(w, "**%s** (medians of %d runs)\n\n", fam, len(samples[names[0]].ns))
		head := "| benchmark | ns/op | B/op | allocs/op |"
		rule := "|---|--:|--:|--:|"
		if hasBare {
			head += " over bare | × bare |"
			rule += "--:|--:|"
		}
		if hasFloor {
			head += " × floor |"
			rule += "--:|"
		}
		for _, u := range units {
			head += " " + u + " |"
			rule += "--:|"
		}
		fmt.Fprintln(w, head)
		fmt.Fprintln(w, rule)
		for _, n := range names {
			s := samples[n]
			ns := median(s.ns)
			row := fmt.Sprintf("| %s | %s | %.0f | %.0f |", strings.TrimPrefix(n, fam+"/"), num(ns), median(s.bytes), median(s.allocs))
			if hasBare {
				b := median(bare.ns)
				row += fmt.Sprintf(" %s ns, %+.0f allocs | %s |", num(ns-b), median(s.allocs)-median(bare.allocs), ratio(ns, b))
			}
			if hasFloor {
				row += fmt.Sprintf(" %s |", ratio(ns, median(floor.ns)))
			}
			for _, u := range units {
				if v, ok := s.extra[u]; ok {
					row += " " + num(median(v)) + " |"
				} else {
					row += " |"
				}
			}
			fmt.Fprintln(w, row)
		}
		fmt.Fprintln(w)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64)
}

func num(v float64) string {
	switch {
	case v >= 100 || v <= -100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10 || v <= -10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
