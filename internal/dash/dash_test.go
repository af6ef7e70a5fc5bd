package dash

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const q = "?" + testPV
const a = "&amp;" + testPV

// mpd wraps a body in an MPD root in the DASH namespace.
func mpd(body string) string {
	return `<?xml version="1.0"?><MPD ` + dashXMLN + ` xmlns:xlink="http://www.w3.org/1999/xlink">` + body + `</MPD>`
}

func mustRewrite(t *testing.T, doc string) string {
	t.Helper()
	out, err, problem := verify([]byte(doc), len(doc)/3, 2*len(doc)/3)
	if problem != nil {
		t.Fatal(problem)
	}
	if err != nil {
		t.Fatalf("rewrite %q: %v", doc, err)
	}
	if len(doc) < 64<<10 {
		if got, err := pieces([]byte(doc), everyByte(len(doc))...); err != nil || !bytes.Equal(got, out) {
			t.Fatalf("byte by byte: %v\n%s\none shot:\n%s", err, got, out)
		}
	}
	return string(out)
}

func everyByte(n int) []int {
	cuts := make([]int, 0, n)
	for i := 1; i < n; i++ {
		cuts = append(cuts, i)
	}
	return cuts
}

// TestURLKindsAndLevels: each place a URL stands, each kind of URL.
func TestURLKindsAndLevels(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"BaseURL relative at MPD", `<BaseURL>dash/</BaseURL>`, `<BaseURL>dash/` + q + `</BaseURL>`},
		{"BaseURL ours", `<BaseURL>https://media.example.com/v/</BaseURL>`, `<BaseURL>https://media.example.com/v/` + q + `</BaseURL>`},
		{"BaseURL ours, scheme-relative", `<BaseURL>//MEDIA.example.com/v/</BaseURL>`, `<BaseURL>//MEDIA.example.com/v/` + q + `</BaseURL>`},
		{"BaseURL foreign", `<BaseURL>https://cdn.example.net/v/</BaseURL>`, `<BaseURL>https://cdn.example.net/v/</BaseURL>`},
		{"BaseURL with a query", `<BaseURL>v.mp4?x=1&amp;y=2</BaseURL>`, `<BaseURL>v.mp4?x=1&amp;y=2` + a + `</BaseURL>`},
		{"BaseURL with an empty query", `<BaseURL>v.mp4?</BaseURL>`, `<BaseURL>v.mp4?` + testPV + `</BaseURL>`},
		{"BaseURL with a fragment", `<BaseURL>v.mp4#t=1</BaseURL>`, `<BaseURL>v.mp4` + q + `#t=1</BaseURL>`},
		{"BaseURL with white space", "<BaseURL>\n  v.mp4\n</BaseURL>", "<BaseURL>\n  v.mp4" + q + "\n</BaseURL>"},
		{"BaseURL empty", `<BaseURL></BaseURL><BaseURL/>`, `<BaseURL></BaseURL><BaseURL/>`},
		{"BaseURL bare fragment", `<BaseURL>#x</BaseURL>`, `<BaseURL>#x</BaseURL>`},
		{"BaseURL entity-encoded", `<BaseURL>a&#x2F;b&#47;</BaseURL>`, `<BaseURL>a&#x2F;b&#47;` + q + `</BaseURL>`},
		{"BaseURL fragment as a reference", `<BaseURL>a&#35;b</BaseURL>`, `<BaseURL>a` + q + `&#35;b</BaseURL>`},
		{"Location", `<Location>https://media.example.com/m.mpd</Location>`, `<Location>https://media.example.com/m.mpd` + q + `</Location>`},
		{"Location relative", `<Location>m.mpd</Location>`, `<Location>m.mpd` + q + `</Location>`},
		{"PatchLocation", `<PatchLocation ttl="60">patch.mpp</PatchLocation>`, `<PatchLocation ttl="60">patch.mpp` + q + `</PatchLocation>`},
		{"SegmentTemplate at Period", `<Period><SegmentTemplate media="$Number$.m4s" initialization="init.mp4" index="i.sidx" bitstreamSwitching="bs.mp4" timescale="1"/></Period>`,
			`<Period><SegmentTemplate media="$Number$.m4s` + q + `" initialization="init.mp4` + q + `" index="i.sidx` + q + `" bitstreamSwitching="bs.mp4` + q + `" timescale="1"/></Period>`},
		{"SegmentTemplate single quotes", `<Period><SegmentTemplate media='s_$Number%05d$_$$.m4s'/></Period>`, `<Period><SegmentTemplate media='s_$Number%05d$_$$.m4s` + q + `'/></Period>`},
		{"SegmentTemplate RepresentationID first", `<Period><SegmentTemplate media="$RepresentationID$/$Number$.m4s"/></Period>`, `<Period><SegmentTemplate media="$RepresentationID$/$Number$.m4s` + q + `"/></Period>`},
		{"SegmentTemplate RepresentationID first, ids fine", `<Period><AdaptationSet><SegmentTemplate media="$RepresentationID$/$Number$.m4s"/><Representation id="v1"/><Representation id="a-2.b_c~"/></AdaptationSet></Period>`,
			`<Period><AdaptationSet><SegmentTemplate media="$RepresentationID$/$Number$.m4s` + q + `"/><Representation id="v1"/><Representation id="a-2.b_c~"/></AdaptationSet></Period>`},
		{"SegmentTemplate in a Representation with a bad id", `<Period><AdaptationSet><Representation id="//evil.example"><SegmentTemplate media="$RepresentationID$/$Number$.m4s" initialization="i/$RepresentationID$.mp4"/></Representation></AdaptationSet></Period>`,
			`<Period><AdaptationSet><Representation id="//evil.example"><SegmentTemplate media="$RepresentationID$/$Number$.m4s" initialization="i/$RepresentationID$.mp4` + q + `"/></Representation></AdaptationSet></Period>`},
		{"SegmentTemplate in a Representation with a good id", `<Period><AdaptationSet><Representation id="v1"><SegmentTemplate media="$RepresentationID$/$Number$.m4s"/></Representation></AdaptationSet></Period>`,
			`<Period><AdaptationSet><Representation id="v1"><SegmentTemplate media="$RepresentationID$/$Number$.m4s` + q + `"/></Representation></AdaptationSet></Period>`},
		{"SegmentTemplate RepresentationID in a segment", `<Period><SegmentTemplate media="v/$RepresentationID$/$Time$.m4s"/></Period>`, `<Period><SegmentTemplate media="v/$RepresentationID$/$Time$.m4s` + q + `"/></Period>`},
		{"SegmentTemplate ffmpeg names", `<Period><SegmentTemplate media="chunk-stream$RepresentationID$-$Number%05d$.m4s"/></Period>`, `<Period><SegmentTemplate media="chunk-stream$RepresentationID$-$Number%05d$.m4s` + q + `"/></Period>`},
		{"SegmentTemplate RepresentationID after a slash", `<Period><AdaptationSet><Representation id="/evil.example"><SegmentTemplate media="/$RepresentationID$/x"/></Representation></AdaptationSet></Period>`,
			`<Period><AdaptationSet><Representation id="/evil.example"><SegmentTemplate media="/$RepresentationID$/x"/></Representation></AdaptationSet></Period>`},
		{"SegmentTemplate RepresentationID could end a scheme", `<Period><AdaptationSet><Representation id="s://evil.example"><SegmentTemplate media="http$RepresentationID$/x"/></Representation></AdaptationSet></Period>`,
			`<Period><AdaptationSet><Representation id="s://evil.example"><SegmentTemplate media="http$RepresentationID$/x"/></Representation></AdaptationSet></Period>`},
		{"SegmentTemplate RepresentationID in a host", `<Period><SegmentTemplate media="https://media.example.com$RepresentationID$/x"/></Period>`, `<Period><SegmentTemplate media="https://media.example.com$RepresentationID$/x"/></Period>`},
		{"SegmentTemplate ours absolute", `<Period><SegmentTemplate media="https://media.example.com/$RepresentationID$/$Number$.m4s"/></Period>`, `<Period><SegmentTemplate media="https://media.example.com/$RepresentationID$/$Number$.m4s` + q + `"/></Period>`},
		{"SegmentTemplate unterminated identifier", `<Period><SegmentTemplate media="seg$Number.m4s"/></Period>`, `<Period><SegmentTemplate media="seg$Number.m4s"/></Period>`},
		{"SegmentTemplate unknown identifier", `<Period><SegmentTemplate media="seg$Foo$.m4s"/></Period>`, `<Period><SegmentTemplate media="seg$Foo$.m4s"/></Period>`},
		{"SegmentTemplate bad width", `<Period><SegmentTemplate media="seg$Number%5d$.m4s"/></Period>`, `<Period><SegmentTemplate media="seg$Number%5d$.m4s"/></Period>`},
		{"SegmentTemplate other attributes", `<Period><SegmentTemplate duration="2" presentationTimeOffset="0" startNumber="1"/></Period>`, `<Period><SegmentTemplate duration="2" presentationTimeOffset="0" startNumber="1"/></Period>`},
		{"SegmentList at AdaptationSet", `<Period><AdaptationSet><SegmentList><Initialization sourceURL="i.mp4" range="0-9"/><RepresentationIndex sourceURL="r.sidx"/><BitstreamSwitching sourceURL="b.mp4"/><SegmentURL media="1.m4s" mediaRange="0-1" index="1.sidx" indexRange="1-2"/></SegmentList></AdaptationSet></Period>`,
			`<Period><AdaptationSet><SegmentList><Initialization sourceURL="i.mp4` + q + `" range="0-9"/><RepresentationIndex sourceURL="r.sidx` + q + `"/><BitstreamSwitching sourceURL="b.mp4` + q + `"/><SegmentURL media="1.m4s` + q + `" mediaRange="0-1" index="1.sidx` + q + `" indexRange="1-2"/></SegmentList></AdaptationSet></Period>`},
		{"SegmentBase at Representation", `<Period><AdaptationSet><Representation id="1"><SegmentBase><Initialization sourceURL="init.mp4"/></SegmentBase></Representation></AdaptationSet></Period>`,
			`<Period><AdaptationSet><Representation id="1"><SegmentBase><Initialization sourceURL="init.mp4` + q + `"/></SegmentBase></Representation></AdaptationSet></Period>`},
		{"xlink Period", `<Period xlink:href="p.xml" xlink:actuate="onLoad"/>`, `<Period xlink:href="p.xml` + q + `" xlink:actuate="onLoad"/>`},
		{"xlink foreign", `<Period xlink:href="https://ads.example/p.xml"/>`, `<Period xlink:href="https://ads.example/p.xml"/>`},
		{"xlink resolve-to-zero", `<Period xlink:href="urn:mpeg:dash:resolve-to-zero:2013"/>`, `<Period xlink:href="urn:mpeg:dash:resolve-to-zero:2013"/>`},
		{"xlink other prefix", `<Period xmlns:xl="http://www.w3.org/1999/xlink" xl:href="p.xml"/>`, `<Period xmlns:xl="http://www.w3.org/1999/xlink" xl:href="p.xml` + q + `"/>`},
		{"xlink AdaptationSet EventStream SegmentList", `<Period><AdaptationSet xlink:href="a.xml"/><EventStream xlink:href="e.xml"/><AdaptationSet><SegmentList xlink:href="l.xml"/></AdaptationSet></Period>`,
			`<Period><AdaptationSet xlink:href="a.xml` + q + `"/><EventStream xlink:href="e.xml` + q + `"/><AdaptationSet><SegmentList xlink:href="l.xml` + q + `"/></AdaptationSet></Period>`},
		{"xlink unbound prefix", `<Period xl:href="p.xml"/>`, `<Period xl:href="p.xml"/>`},
		{"xlink rebound prefix", `<Period xmlns:xlink="urn:not-xlink" xlink:href="p.xml"/>`, `<Period xmlns:xlink="urn:not-xlink" xlink:href="p.xml"/>`},
		{"href without a prefix", `<Period href="p.xml"/>`, `<Period href="p.xml"/>`},
		{"xlink on another element", `<Period><Representation xlink:href="r.xml"/></Period>`, `<Period><Representation xlink:href="r.xml"/></Period>`},
		{"left out", `<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="/time"/><ProgramInformation moreInformationURL="info.html"/><Period><AdaptationSet><ContentProtection schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"><dashif:Laurl xmlns:dashif="https://dashif.org/CPS">lic</dashif:Laurl></ContentProtection></AdaptationSet></Period>`,
			`<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="/time"/><ProgramInformation moreInformationURL="info.html"/><Period><AdaptationSet><ContentProtection schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"><dashif:Laurl xmlns:dashif="https://dashif.org/CPS">lic</dashif:Laurl></ContentProtection></AdaptationSet></Period>`},
		{"unknown elements pass", `<x:Thing xmlns:x="urn:x" media="a.m4s"><SegmentURL media="b"/></x:Thing>`, `<x:Thing xmlns:x="urn:x" media="a.m4s"><SegmentURL media="b` + q + `"/></x:Thing>`},
		{"another namespace is not DASH", `<d:SegmentURL xmlns:d="urn:other" media="b"/>`, `<d:SegmentURL xmlns:d="urn:other" media="b"/>`},
		{"a DASH prefix is DASH", `<d:SegmentURL xmlns:d="urn:mpeg:dash:schema:mpd:2011" media="b"/>`, `<d:SegmentURL xmlns:d="urn:mpeg:dash:schema:mpd:2011" media="b` + q + `"/>`},
		{"prefixed attributes are not URLs", `<SegmentURL xmlns:d="urn:mpeg:dash:schema:mpd:2011" d:media="b"/>`, `<SegmentURL xmlns:d="urn:mpeg:dash:schema:mpd:2011" d:media="b"/>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := mustRewrite(t, mpd(c.in))
			if want := mpd(c.want); got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestNoNamespace: MPDs without xmlns are DASH too.
func TestNoNamespace(t *testing.T) {
	in := `<MPD><BaseURL>a/</BaseURL><Period><SegmentTemplate media="$Number$.m4s"/></Period></MPD>`
	want := `<MPD><BaseURL>a/` + q + `</BaseURL><Period><SegmentTemplate media="$Number$.m4s` + q + `"/></Period></MPD>`
	if got := mustRewrite(t, in); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

// TestChain: the BaseURL chain decides relative URLs.
func TestChain(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"foreign MPD BaseURL, relative children", `<BaseURL>https://cdn.example.net/</BaseURL><Period><BaseURL>p/</BaseURL><SegmentTemplate media="$Number$.m4s"/></Period>`,
			`<BaseURL>https://cdn.example.net/</BaseURL><Period><BaseURL>p/</BaseURL><SegmentTemplate media="$Number$.m4s"/></Period>`},
		{"foreign, then ours absolute resets", `<BaseURL>https://cdn.example.net/</BaseURL><Period><BaseURL>https://media.example.com/p/</BaseURL><SegmentTemplate media="$Number$.m4s"/></Period>`,
			`<BaseURL>https://cdn.example.net/</BaseURL><Period><BaseURL>https://media.example.com/p/` + q + `</BaseURL><SegmentTemplate media="$Number$.m4s` + q + `"/></Period>`},
		{"ours, then foreign below", `<BaseURL>https://media.example.com/</BaseURL><Period><BaseURL>https://cdn.example.net/</BaseURL><AdaptationSet><Representation><BaseURL>r/</BaseURL><SegmentList><SegmentURL media="1.m4s"/></SegmentList></Representation></AdaptationSet></Period>`,
			`<BaseURL>https://media.example.com/` + q + `</BaseURL><Period><BaseURL>https://cdn.example.net/</BaseURL><AdaptationSet><Representation><BaseURL>r/</BaseURL><SegmentList><SegmentURL media="1.m4s"/></SegmentList></Representation></AdaptationSet></Period>`},
		{"foreign stays out of a sibling", `<Period><AdaptationSet><BaseURL>https://cdn.example.net/</BaseURL><SegmentURL media="1"/></AdaptationSet><AdaptationSet><SegmentURL media="2"/></AdaptationSet></Period>`,
			`<Period><AdaptationSet><BaseURL>https://cdn.example.net/</BaseURL><SegmentURL media="1"/></AdaptationSet><AdaptationSet><SegmentURL media="2` + q + `"/></AdaptationSet></Period>`},
		{"alternatives: one foreign makes the level foreign", `<BaseURL serviceLocation="a">https://media.example.com/</BaseURL><BaseURL serviceLocation="b">https://cdn.example.net/</BaseURL><Period><SegmentURL media="1"/></Period>`,
			`<BaseURL serviceLocation="a">https://media.example.com/` + q + `</BaseURL><BaseURL serviceLocation="b">https://cdn.example.net/</BaseURL><Period><SegmentURL media="1"/></Period>`},
		{"alternatives: relative and ours", `<BaseURL>https://media.example.com/</BaseURL><BaseURL>rel/</BaseURL><Period><SegmentURL media="1"/></Period>`,
			`<BaseURL>https://media.example.com/` + q + `</BaseURL><BaseURL>rel/` + q + `</BaseURL><Period><SegmentURL media="1` + q + `"/></Period>`},
		{"absolute ours URL under a foreign base", `<BaseURL>https://cdn.example.net/</BaseURL><Period><SegmentURL media="https://media.example.com/1"/></Period>`,
			`<BaseURL>https://cdn.example.net/</BaseURL><Period><SegmentURL media="https://media.example.com/1` + q + `"/></Period>`},
		{"segment information after a Representation with a foreign BaseURL", `<Period><AdaptationSet><Representation id="1"><BaseURL>https://cdn.example.net/</BaseURL></Representation><SegmentTemplate media="$Number$.m4s" initialization="https://media.example.com/i.mp4"/></AdaptationSet><AdaptationSet><SegmentTemplate media="$Number$.m4s"/></AdaptationSet></Period>`,
			`<Period><AdaptationSet><Representation id="1"><BaseURL>https://cdn.example.net/</BaseURL></Representation><SegmentTemplate media="$Number$.m4s" initialization="https://media.example.com/i.mp4` + q + `"/></AdaptationSet><AdaptationSet><SegmentTemplate media="$Number$.m4s` + q + `"/></AdaptationSet></Period>`},
		{"segment information after a remote AdaptationSet", `<Period><AdaptationSet xlink:href="a.xml"/><SegmentTemplate media="$Number$.m4s" initialization="https://media.example.com/i.mp4"/></Period><Period><AdaptationSet xlink:href="urn:mpeg:dash:resolve-to-zero:2013"/><SegmentTemplate media="$Number$.m4s"/></Period>`,
			`<Period><AdaptationSet xlink:href="a.xml` + q + `"/><SegmentTemplate media="$Number$.m4s" initialization="https://media.example.com/i.mp4` + q + `"/></Period><Period><AdaptationSet xlink:href="urn:mpeg:dash:resolve-to-zero:2013"/><SegmentTemplate media="$Number$.m4s` + q + `"/></Period>`},
		{"a template needing ids after the Representations", `<Period><AdaptationSet><Representation id="//evil.example"/><SegmentTemplate media="$RepresentationID$/$Number$.m4s" initialization="v/$RepresentationID$/i.mp4"/></AdaptationSet></Period>`,
			`<Period><AdaptationSet><Representation id="//evil.example"/><SegmentTemplate media="$RepresentationID$/$Number$.m4s" initialization="v/$RepresentationID$/i.mp4` + q + `"/></AdaptationSet></Period>`},
		{"a foreign Location makes the document foreign", `<Location>https://elsewhere.example/m.mpd</Location><BaseURL>a/</BaseURL><Period><SegmentURL media="1"/><SegmentURL media="https://media.example.com/2"/></Period>`,
			`<Location>https://elsewhere.example/m.mpd</Location><BaseURL>a/</BaseURL><Period><SegmentURL media="1"/><SegmentURL media="https://media.example.com/2` + q + `"/></Period>`},
		{"a foreign Location under an absolute ours BaseURL", `<Location>https://elsewhere.example/m.mpd</Location><BaseURL>https://media.example.com/</BaseURL><Period><SegmentURL media="1"/></Period>`,
			`<Location>https://elsewhere.example/m.mpd</Location><BaseURL>https://media.example.com/` + q + `</BaseURL><Period><SegmentURL media="1` + q + `"/></Period>`},
		{"xml:base foreign", `<Period xml:base="https://cdn.example.net/"><SegmentURL media="1"/></Period>`, `<Period xml:base="https://cdn.example.net/"><SegmentURL media="1"/></Period>`},
		{"BaseURL in another namespace still counts", `<x:BaseURL xmlns:x="urn:x">https://cdn.example.net/</x:BaseURL><Period><SegmentURL media="1"/></Period>`,
			`<x:BaseURL xmlns:x="urn:x">https://cdn.example.net/</x:BaseURL><Period><SegmentURL media="1"/></Period>`},
		{"BaseURL in another namespace is not rewritten", `<x:BaseURL xmlns:x="urn:x">a/</x:BaseURL>`, `<x:BaseURL xmlns:x="urn:x">a/</x:BaseURL>`},
		{"BaseURL with byteRange is foreign", `<BaseURL byteRange="$base$?r=$first$-$last$">v.mp4</BaseURL><Period><SegmentURL media="1"/></Period>`,
			`<BaseURL byteRange="$base$?r=$first$-$last$">v.mp4</BaseURL><Period><SegmentURL media="1"/></Period>`},
		{"BaseURL in CDATA is foreign", `<BaseURL><![CDATA[a/]]></BaseURL><Period><SegmentURL media="1"/></Period>`,
			`<BaseURL><![CDATA[a/]]></BaseURL><Period><SegmentURL media="1"/></Period>`},
		{"BaseURL with a comment is foreign", `<BaseURL>a/<!-- x --></BaseURL><Period><SegmentURL media="1"/></Period>`,
			`<BaseURL>a/<!-- x --></BaseURL><Period><SegmentURL media="1"/></Period>`},
		{"BaseURL with an unknown entity is foreign", `<BaseURL>a&foo;/</BaseURL><Period><SegmentURL media="1"/></Period>`,
			`<BaseURL>a&foo;/</BaseURL><Period><SegmentURL media="1"/></Period>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := mpd(c.in)
			out, err := oneShot([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if want := mpd(c.want); string(out) != want {
				t.Errorf("\n got %s\nwant %s", out, want)
			}
			if _, _, problem := verify([]byte(doc), len(doc)/2); problem != nil && !strings.Contains(c.name, "entity") {
				t.Error(problem)
			}
		})
	}
}

// TestFailures: what must fail the document, not pass it.
func TestFailures(t *testing.T) {
	deep := strings.Repeat("<x>", MaxDepth) + strings.Repeat("</x>", MaxDepth)
	many := strings.Repeat("<BaseURL>a/</BaseURL>", MaxBaseURLs+1)
	cases := []struct {
		name string
		doc  string
		want error
	}{
		{"late foreign BaseURL after a relative URL", mpd(`<BaseURL>a/</BaseURL><Period><SegmentURL media="1"/></Period><BaseURL>https://cdn.example.net/</BaseURL>`), ErrLateBase},
		{"late foreign BaseURL in the same Representation", mpd(`<Period><AdaptationSet><Representation><SegmentBase><Initialization sourceURL="i.mp4"/></SegmentBase><BaseURL>https://cdn.example.net/v.mp4</BaseURL></Representation></AdaptationSet></Period>`), ErrLateBase},
		{"inherited template, then a foreign Representation BaseURL", mpd(`<Period><AdaptationSet><SegmentTemplate media="$Number$.m4s"/><Representation id="1"><BaseURL>https://cdn.example.net/</BaseURL></Representation></AdaptationSet></Period>`), ErrLateBase},
		{"inherited template, then a relative BaseURL under a foreign xml:base", mpd(`<Period><SegmentTemplate media="$Number$.m4s"/><AdaptationSet xml:base="https://cdn.example.net/"/></Period>`), ErrLateBase},
		{"late foreign Location", mpd(`<BaseURL>a/</BaseURL><Location>https://elsewhere.example/m.mpd</Location>`), ErrLateBase},
		{"late relative alternative under a foreign level", mpd(`<BaseURL>https://cdn.example.net/</BaseURL><Period><BaseURL>https://media.example.com/</BaseURL><SegmentURL media="1"/><BaseURL>rel/</BaseURL></Period>`), ErrLateBase},
		{"a Representation@id moves an inherited template", mpd(`<Period><AdaptationSet><SegmentTemplate media="$RepresentationID$/$Number$.m4s"/><Representation id="ok"/><Representation id="//evil.example"/></AdaptationSet></Period>`), ErrRepresentationID},
		{"a Representation@id that is not plain", mpd(`<Period><SegmentTemplate media="$RepresentationID$/$Number$.m4s"/><AdaptationSet><Representation id="a&#x9;b"/></AdaptationSet></Period>`), ErrRepresentationID},
		{"a remote AdaptationSet under an inherited template", mpd(`<Period><SegmentTemplate media="$Number$.m4s"/><AdaptationSet xlink:href="https://ads.example/a.xml"/></Period>`), ErrLateBase},
		{"UrlQueryInfo", mpd(`<Period><EssentialProperty schemeIdUri="urn:mpeg:dash:urlparam:2014"><up:UrlQueryInfo xmlns:up="urn:mpeg:dash:schema:urlparam:2014" useMPDUrlQuery="true"/></EssentialProperty></Period>`), ErrUnsupported},
		{"ExtHttpHeaderInfo", mpd(`<SupplementalProperty schemeIdUri="urn:mpeg:dash:urlparam:2016"><ExtHttpHeaderInfo/></SupplementalProperty>`), ErrUnsupported},
		{"ContentSteering", mpd(`<ContentSteering>https://steer.example/s.json</ContentSteering>`), ErrUnsupported},
		{"ENTITY", `<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY e "https://evil.example/">]>` + mpd(`<BaseURL>&e;</BaseURL>`), ErrDoctype},
		{"ATTLIST", `<!DOCTYPE MPD [<!ATTLIST SegmentURL media CDATA "https://evil.example/x">]>` + mpd(``), ErrDoctype},
		{"external DTD", `<!DOCTYPE MPD SYSTEM "https://evil.example/d.dtd">` + mpd(``), ErrDoctype},
		{"parameter entity", `<!DOCTYPE MPD [ %pe; ]>` + mpd(``), ErrDoctype},
		{"an ELEMENT declaration", `<!DOCTYPE MPD [<!ELEMENT MPD ANY>]>` + mpd(``), ErrDoctype},
		{"a subset with a comment", `<!DOCTYPE MPD [<!-- > <MPD><BaseURL>https://evil.example/</BaseURL> -->]>` + mpd(``), ErrDoctype},
		{"DOCTYPE run into its name", `<!DOCTYPEMPD>` + mpd(``), ErrDoctype},
		{"too deep", mpd(deep), ErrTooDeep},
		{"too many alternatives", mpd(many), ErrTooManyBases},
		{"too many namespaces", mpd(strings.Repeat(`<x xmlns:a="urn:a" xmlns:b="urn:b" xmlns:c="urn:c" xmlns:d="urn:d" xmlns:e="urn:e">`, 60) + strings.Repeat(`</x>`, 60)), ErrTooManyNamespaces},
		{"huge attribute", mpd(`<SegmentURL media="` + strings.Repeat("a", MaxConstruct) + `"/>`), ErrTooLarge},
		{"huge comment", mpd(`<!--` + strings.Repeat("-", MaxConstruct) + `-->`), ErrTooLarge},
		{"huge BaseURL", mpd(`<BaseURL>` + strings.Repeat("a", MaxConstruct+1) + `</BaseURL>`), ErrTooLarge},
		{"cut in a tag", mpd(``)[:30], ErrTruncated},
		{"cut in an element", `<MPD><Period>`, ErrTruncated},
		{"mismatched end", `<MPD><Period></AdaptationSet></MPD>`, ErrMalformed},
		{"stray end", `</MPD>`, ErrMalformed},
		{"unquoted attribute", `<MPD a=b></MPD>`, ErrMalformed},
		{"attribute without value", `<MPD a></MPD>`, ErrMalformed},
		{"attributes run together", `<MPD a="1"b="2"></MPD>`, ErrMalformed},
		{"lt in a tag", `<MPD a="1" <b></MPD>`, ErrMalformed},
		{"bang", `<MPD><!FOO></MPD>`, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := oneShot([]byte(c.doc))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			_, err = pieces([]byte(c.doc), len(c.doc)/2)
			if !errors.Is(err, c.want) {
				t.Fatalf("in pieces: got %v, want %v", err, c.want)
			}
			_, err = pieces([]byte(c.doc), everyByte(len(c.doc))...)
			if !errors.Is(err, c.want) {
				t.Fatalf("byte by byte: got %v, want %v", err, c.want)
			}
		})
	}
	// Just inside the bounds: fine.
	for _, doc := range []string{
		mpd(strings.Repeat("<x>", MaxDepth-1) + strings.Repeat("</x>", MaxDepth-1)),
		mpd(strings.Repeat("<BaseURL>a/</BaseURL>", MaxBaseURLs)),
		mpd(`<BaseURL>` + strings.Repeat("a", MaxConstruct) + `</BaseURL>`),
		mpd(`<Event>` + strings.Repeat("a", 4*MaxConstruct) + `</Event>`), // other text streams
	} {
		if _, err := oneShot([]byte(doc)); err != nil {
			t.Errorf("%.60q…: %v", doc, err)
		}
	}
}

// TestAttacks: foreign hosts in every spelling never get the session.
func TestAttacks(t *testing.T) {
	spellings := []string{
		"//evil.example/x", "///evil.example/x", `\\evil.example\x`, `/\evil.example/x`, `https:\\evil.example\x`,
		"HTTPS://EVIL.EXAMPLE/x", "https:evil.example/x", "https:/evil.example/x", "http://media.example.com@evil.example/",
		"https://media.example.com.evil.example/", "https://evil.example#@media.example.com/", "https://%65vil.example/",
		"&#104;ttps://evil.example/x", "&#x68;ttps:&#x2F;&#x2F;evil.example/x", "ht&#9;tps://evil.example/x",
		"ht&#10;tps://evil.example/x", "https:/&#x9;/evil.example/x", "&#x20;//evil.example/x", "\t//evil.example/x",
		"ht\ntps://evil.example/x", "/\n/evil.example/x", "https://evil.exa\tmple/", "&#x1;//evil.example/",
		"&#0;//evil.example/", "javascript:alert(1)", "data:video/mp4;base64,AAAA", "ftp://media.example.com/x",
		"https://ｅvil.example/", "//evil.example:443/", "&#x2F;/evil.example/", "&#x5C;&#x5C;evil.example/",
	}
	for _, s := range spellings {
		for _, doc := range []string{
			mpd(`<BaseURL>` + s + `</BaseURL>`),
			mpd(`<Location>` + s + `</Location>`),
			mpd(`<Period><SegmentURL media="` + s + `"/><SegmentTemplate media="` + s + `$Number$"/></Period>`),
			mpd(`<Period><SegmentURL media='` + s + `' index="` + s + `"/></Period>`),
			mpd(`<Period xlink:href="` + s + `"/>`),
			mpd(`<BaseURL>` + s + `</BaseURL><Period><BaseURL>rel/</BaseURL><AdaptationSet><SegmentTemplate media="$Number$.m4s" initialization="i.mp4"/><Representation><SegmentList><SegmentURL media="1.m4s"/></SegmentList></Representation></AdaptationSet></Period>`),
			mpd(`<Period><AdaptationSet><BaseURL>` + s + `</BaseURL><Representation><BaseURL>r/</BaseURL><SegmentBase><Initialization sourceURL="i.mp4"/></SegmentBase></Representation></AdaptationSet></Period>`),
		} {
			out, err, problem := verify([]byte(doc), len(doc)/2)
			if problem != nil {
				t.Error(problem)
				continue
			}
			if got, err2 := pieces([]byte(doc), everyByte(len(doc))...); !errors.Is(err2, err) || !bytes.Equal(got, out) && err == nil {
				t.Errorf("byte by byte differs: %v %s", err2, got)
			}
			if err != nil {
				t.Errorf("%q: %v", doc, err)
				continue
			}
			if strings.Contains(string(out), testV) {
				t.Errorf("the session went on a foreign URL: %s", out)
			}
		}
	}
}

// TestRepresentationIDCannotMoveHost: whatever the ids of the
// Representations, before or after the template they use, a template
// that carries the session keeps its host, or the document fails.
func TestRepresentationIDCannotMoveHost(t *testing.T) {
	ids := []string{"//evil.example", "/evil.example", `\evil.example`, "http://evil.example", "https:", "s://evil.example", "@evil.example", ".evil.example", ":8443@evil.example", "v1", ""}
	templates := []string{"$RepresentationID$/$Number$.m4s", "/$RepresentationID$/x", "h$RepresentationID$", "https://media.example.com$RepresentationID$/x",
		"//media.example.com$RepresentationID$/", "https:$RepresentationID$", "$Number$$RepresentationID$", "/$Number$$RepresentationID$",
		"$$$RepresentationID$", "chunk-stream$RepresentationID$-$Number$.m4s", "rt$RepresentationID$", "crypto+$RepresentationID$", "a$Number$/$RepresentationID$",
		"$RepresentationID$//evil.example/$Number$", "$RepresentationID$$Number$", "$RepresentationID$:x"}
	for _, tpl := range templates {
		for _, id := range ids {
			for _, doc := range []string{
				mpd(`<Period><AdaptationSet><SegmentTemplate media="` + tpl + `"/><Representation id="` + id + `"/></AdaptationSet></Period>`),
				mpd(`<Period><AdaptationSet><Representation id="` + id + `"><SegmentTemplate media="` + tpl + `"/></Representation></AdaptationSet></Period>`),
			} {
				out, err, problem := verify([]byte(doc), len(doc)/2)
				if problem != nil {
					t.Fatal(problem)
				}
				if errors.Is(err, ErrRepresentationID) || !strings.Contains(string(out), testV) {
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", doc, err)
				}
				u := strings.ReplaceAll(strings.ReplaceAll(tpl, "$RepresentationID$", id), "$Number$", "7")
				u = strings.ReplaceAll(u, "$$", "$")
				sch := schemeOf(u)
				if k := classify(u); k == Foreign && (sch == "" || sch == "http" || sch == "https") {
					t.Errorf("template %q took the session, but id %q makes it %q", tpl, id, u)
				}
			}
		}
	}
}

// TestRealMPDs: whole documents, one shot and split at every byte.
func TestRealMPDs(t *testing.T) {
	want := map[string]struct{ has, hasNot []string }{
		"live.mpd": {
			has:    []string{`<Location>manifest.mpd` + q + `</Location>`, `$RepresentationID$/init.mp4` + q, `$RepresentationID$/$Time$.m4s` + q, `media="chunk-stream$RepresentationID$-$Number%05d$.m4s?v=2` + a + `"`, `initialization="init-stream$RepresentationID$.m4s` + q + `"`},
			hasNot: []string{`time.akamai.com/?iso` + a},
		},
		"list.mpd": {
			has: []string{`<BaseURL>./` + q + `</BaseURL>`, `<BaseURL>video/r1/` + q + `</BaseURL>`, `sourceURL="init.mp4` + q + `"`, `media="seg-1.m4s` + q + `"`,
				`media='seg-2.m4s?a=1&amp;b=2` + a + `'`, `seg-3.m4s` + q + `#t=0"`, `xlink:href="remote-adaptation.xml` + q + `"`},
			hasNot: []string{`seg-4.m4s` + q, `period.xml` + q},
		},
		"ondemand.mpd": {
			has: []string{`<BaseURL>video_1080.mp4` + q + `</BaseURL>`, "video_720.mp4" + q + "\n", `sourceURL="video_720.sidx` + q + `"`},
		},
		"multiperiod.mpd": {
			has:    []string{`<BaseURL>https://media.example.com/vod/v1/dash/` + q + `</BaseURL>`, `startNumber="16" media="$RepresentationID$/$Number$.m4s` + q, `media="main/$RepresentationID$/$Number$.m4s` + q + `"`},
			hasNot: []string{`creative/77/` + q, `duration="2000" media="$RepresentationID$/$Number$.m4s` + q},
		},
		"cdn.mpd": {
			hasNot: []string{testV},
		},
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if !IsManifest(doc) {
				t.Error("IsManifest: false")
			}
			out := mustRewrite(t, string(doc))
			for _, s := range w.has {
				if !strings.Contains(out, s) {
					t.Errorf("missing %s", s)
				}
			}
			for _, s := range w.hasNot {
				if strings.Contains(out, s) {
					t.Errorf("has %s", s)
				}
			}
			for i := 0; i <= len(doc); i++ {
				got, err := pieces(doc, i)
				if err != nil || string(got) != out {
					t.Fatalf("split at %d: %v\n%s", i, err, got)
				}
			}
			// Byte by byte.
			cuts := make([]int, 0, len(doc))
			for i := 1; i < len(doc); i++ {
				cuts = append(cuts, i)
			}
			if got, err := pieces(doc, cuts...); err != nil || string(got) != out {
				t.Fatalf("byte by byte: %v\n%s", err, got)
			}
		})
	}
}

// TestPassesByteForByte: everything but the parameter is the input's.
func TestPassesByteForByte(t *testing.T) {
	in := "\xef\xbb\xbf<?xml version='1.0' encoding='UTF-8'?>\r\n<!-- a comment with <BaseURL>x</BaseURL> -->\n<!DOCTYPE mpd:MPD >\n" +
		"<mpd:MPD xmlns:mpd='urn:mpeg:dash:schema:mpd:2011'   type = \"static\"\t>\n<?pi <BaseURL>y</BaseURL>?><![CDATA[<BaseURL>z</BaseURL>]]>" +
		"<mpd:Period  ><mpd:SegmentURL\n media = 'a&apos;b'\n/>&amp;&#x41;<unknown a=\"&lt;\">t</unknown></mpd:Period ></mpd:MPD >\n"
	want := strings.Replace(in, "a&apos;b", "a&apos;b"+q, 1)
	if got := mustRewrite(t, in); got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
}

func TestIsManifest(t *testing.T) {
	for in, want := range map[string]bool{
		`<MPD>`: true, "\xef\xbb\xbf <?xml version=\"1.0\"?>\n<!-- x --><MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\">": true,
		`<dash:MPD xmlns:dash="urn:mpeg:dash:schema:mpd:2011">`: true, `<MPD/>`: true, "<MPD\n": true,
		`#EXTM3U`: false, `<html>`: false, `<MPDX>`: false, `<MP`: false, `<?xml `: false, `<!-- <MPD>`: false, ``: false,
		`<Patch>`: false, `<Period>`: false, "<!DOCTYPE MPD>\n<MPD>": true, `<!DOCTYPE MPD`: false,
	} {
		if got := IsManifest([]byte(in)); got != want {
			t.Errorf("IsManifest(%q) = %t", in, got)
		}
	}
}

func TestConfiguration(t *testing.T) {
	for _, r := range []*Rewriter{
		{Param: "avh", Value: "x"},
		{Param: "", Value: "x", Classify: classify},
		{Param: "a&b", Value: "x", Classify: classify},
		{Param: "avh", Value: "x$y", Classify: classify},
		{Param: "avh", Value: "x#y", Classify: classify},
		{Param: "a=", Value: "x", Classify: classify},
	} {
		if _, err := r.Write(nil, []byte("<MPD/>")); !errors.Is(err, ErrConfiguration) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	// A Classify that answers nonsense fails closed.
	r := &Rewriter{Param: "avh", Value: "x", Classify: func(string) Kind { return 9 }}
	out, err := r.Write(nil, []byte(mpd(`<BaseURL>a/</BaseURL>`)))
	if err != nil {
		t.Fatal(err)
	}
	if out, err = r.Close(out); err != nil || bytes.Contains(out, []byte("avh")) {
		t.Errorf("%s %v", out, err)
	}
	if _, err := r.Write(nil, nil); err == nil {
		t.Error("Write after Close works")
	}
}

func TestEncodingDeclaration(t *testing.T) {
	for decl, want := range map[string]error{
		`<?xml version="1.0" encoding="UTF-16"?>`:       ErrUnsupported,
		`<?xml version="1.0" encoding='ebcdic-cp-us'?>`: ErrUnsupported,
		`<?xml version="1.0" encoding="utf-8"?>`:        nil,
		`<?xml version="1.0" encoding = "ISO-8859-1"?>`: nil,
		`<?xml version="1.0"?>`:                         nil,
		`<?xml-stylesheet href="x.xsl"?>`:               nil,
	} {
		if _, err := oneShot([]byte(decl + `<MPD/>`)); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", decl, err, want)
		}
	}
}

// TestClassifySeesDecodedValues: references decoded, nothing else touched.
func TestClassifySeesDecodedValues(t *testing.T) {
	var seen []string
	r := &Rewriter{Param: testP, Value: testV, Classify: func(u string) Kind {
		seen = append(seen, u)
		return classify(u)
	}}
	doc := mpd(`<BaseURL>  a&amp;b&#x2F;&#47;&lt;&quot;&apos;&#233;&#x1F600;` + "\r\n" + `</BaseURL><Period><SegmentURL media="&#104;ttps://media.example.com/x?a=1&amp;b=2"/></Period>`)
	out, err := r.Write(nil, []byte(doc))
	if err == nil {
		out, err = r.Close(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"  a&b//<\"'é😀\n", "https://media.example.com/x?a=1&b=2"}
	if len(seen) < 2 || seen[0] != want[0] || seen[len(seen)-1] != want[1] && seen[len(seen)-2] != want[1] {
		t.Errorf("Classify saw %q, want %q (and raw forms)", seen, want)
	}
	if !strings.Contains(string(out), `media="&#104;ttps://media.example.com/x?a=1&amp;b=2`+a+`"`) {
		t.Errorf("%s", out)
	}
}

// TestEntityTricks: references that hide a host, or look like one.
func TestEntityTricks(t *testing.T) {
	for in, rewritten := range map[string]bool{
		`<SegmentURL media="&#x2F;&#x2F;evil.example/x"/>`:                  false,
		`<SegmentURL media="&#47;&#92;evil.example/x"/>`:                    false,
		`<SegmentURL media="https&#58;//evil.example/x"/>`:                  false,
		`<SegmentURL media="&amp;#x2F;&amp;#x2F;evil.example/x"/>`:          true, // literally "&#x2F;…": a relative path and a fragment
		`<SegmentURL media="&#9;//evil.example/x"/>`:                        false,
		`<SegmentURL media="/&#x0A;/evil.example/x"/>`:                      false,
		`<SegmentURL media="/&#x0D;/evil.example/x"/>`:                      false,
		`<SegmentURL media="&#0;//evil.example/x"/>`:                        false,
		`<SegmentURL media="&#xD800;//evil.example/x"/>`:                    false,
		`<SegmentURL media="&#x110000;x"/>`:                                 false,
		`<SegmentURL media="&x;x"/>`:                                        false,
		`<SegmentURL media="a&b"/>`:                                         false,
		`<SegmentURL media="https:&#x2F;&#x2F;media.example.com/x"/>`:       false, // read undecoded it is "https:&…", and the worse reading wins
		`<SegmentURL media="https://media.example.com&#64;evil.example/"/>`: false,
	} {
		out, err, problem := verify([]byte(mpd(`<Period>` + in + `</Period>`)))
		if problem != nil {
			t.Error(problem)
		}
		if err != nil {
			t.Errorf("%s: %v", in, err)
		}
		if got := strings.Contains(string(out), testV); got != rewritten {
			t.Errorf("%s: rewritten %t, want %t: %s", in, got, rewritten, out)
		}
	}
}

// TestStreamsWithinBounds: a large MPD, written in small pieces, comes out
// as it goes in, and the rewriter never holds more than one construct.
func TestStreamsWithinBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString(mpd(""))
	body := b.String()
	var list strings.Builder
	list.WriteString(`<Period><AdaptationSet><Representation id="r"><SegmentList duration="1">`)
	for i := 0; list.Len() < 2<<20; i++ {
		list.WriteString(`<SegmentURL media="segment-`)
		list.WriteString(strings.Repeat("x", i%50))
		list.WriteString(`.m4s"/>` + "\n")
	}
	list.WriteString(`<!-- ` + strings.Repeat("c", MaxConstruct-10) + ` -->`)
	list.WriteString(`<SegmentURL media="` + strings.Repeat("y", MaxConstruct-40) + `"/>`)
	list.WriteString(`</SegmentList></Representation></AdaptationSet></Period>`)
	doc := []byte(strings.Replace(body, "</MPD>", list.String()+"</MPD>", 1))

	r := newRewriter()
	var out []byte
	var err error
	maxHeld := 0
	for i := 0; i < len(doc); i += 7 {
		if out, err = r.Write(out, doc[i:min(i+7, len(doc))]); err != nil {
			t.Fatal(err)
		}
		maxHeld = max(maxHeld, len(r.held)+len(r.text))
		if i > 0 && i%(256<<10) == 0 && len(out) < i-MaxConstruct-4096 {
			t.Fatalf("after %d bytes in, only %d out", i, len(out))
		}
	}
	if out, err = r.Close(out); err != nil {
		t.Fatal(err)
	}
	if maxHeld > MaxConstruct+7 {
		t.Errorf("held %d bytes", maxHeld)
	}
	one, err := oneShot(doc)
	if err != nil || !bytes.Equal(one, out) {
		t.Fatalf("pieces and one shot differ (%v)", err)
	}
	if n := bytes.Count(out, []byte(q)); n != bytes.Count(doc, []byte("<SegmentURL")) {
		t.Errorf("%d URLs rewritten", n)
	}
}

// TestRefereeCatchesLeaks: the referee the fuzz target relies on fails on
// the leaks it is meant to find.
func TestRefereeCatchesLeaks(t *testing.T) {
	for _, leak := range []string{
		`<Period><SegmentURL media="https://evil.example/x?` + testPV + `"/></Period>`,
		`<BaseURL>//evil.example/?` + testPV + `</BaseURL>`,
		`<BaseURL>https://cdn.example.net/</BaseURL><Period><SegmentURL media="x?` + testPV + `"/></Period>`,
		`<Location>https://evil.example/m.mpd</Location><BaseURL>a/?` + testPV + `</BaseURL>`,
		`<Period><AdaptationSet><SegmentTemplate media="$Number$?` + testPV + `"/><Representation><BaseURL>https://cdn.example.net/</BaseURL></Representation></AdaptationSet></Period>`,
		`<Period><AdaptationSet><Representation><BaseURL>https://cdn.example.net/</BaseURL></Representation><SegmentTemplate media="$Number$?` + testPV + `"/></AdaptationSet></Period>`,
		`<Period><AdaptationSet><SegmentTemplate media="$RepresentationID$/$Number$?` + testPV + `"/><Representation id="//evil.example"/></AdaptationSet></Period>`,
		`<Period xml:base="https://cdn.example.net/"><SegmentURL media="x?` + testPV + `"/></Period>`,
	} {
		root, _, err := parse([]byte(mpd(leak)))
		if err != nil {
			t.Fatal(err)
		}
		if noLeak(root) == nil {
			t.Errorf("the referee misses %s", leak)
		}
	}
	if !inserted("a?b", "a?b&"+testPV) || inserted("a?b", "a?bX"+testPV) || !inserted("a#f", "a?"+testPV+"#f") {
		t.Error("inserted is wrong")
	}
}

// TestByteAtATimeIsLinear: constructs near the bound, written a byte at a
// time, are scanned once, not once per byte (that would take seconds).
func TestByteAtATimeIsLinear(t *testing.T) {
	doc := []byte(mpd(`<Period><SegmentURL media="` + strings.Repeat("a", MaxConstruct-100) + `"/><!--` + strings.Repeat("b", MaxConstruct-10) + `--><?pi ` + strings.Repeat("c", MaxConstruct-10) + `?></Period>`))
	start := time.Now()
	if _, err := pieces(doc, everyByte(len(doc))...); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("%d bytes one at a time took %v", len(doc), d)
	}
}
