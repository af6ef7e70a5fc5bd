package dash

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRewrite: never panics; split anywhere, the output is the one-shot
// output (or the same error); the output is well-formed iff the input is,
// with the same tokens but for the parameter; and no value that carries the
// session is foreign, or relative under a foreign chain (noLeak).
func FuzzRewrite(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.mpd"))
	for _, name := range files {
		doc, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc, uint16(len(doc)/3), uint16(len(doc)/2))
	}
	for _, s := range []string{
		mpd(`<BaseURL>https://cdn.example.net/</BaseURL><Period><SegmentURL media="1"/></Period>`),
		mpd(`<Period><AdaptationSet><SegmentTemplate media="$RepresentationID$/$Number$"/><Representation id="//evil.example"><BaseURL>//evil.example/</BaseURL></Representation></AdaptationSet></Period>`),
		mpd(`<Location>https://media.example.com/m.mpd</Location><BaseURL>&#x2F;/evil.example/</BaseURL><BaseURL><![CDATA[x]]></BaseURL>`),
		mpd(`<Period xml:base="//evil.example/" xlink:href="p.xml"><SegmentList xmlns:x="http://www.w3.org/1999/xlink" x:href="l"/></Period>`),
		`<!DOCTYPE MPD [<!ELEMENT MPD ANY>]><MPD><BaseURL>a</BaseURL></MPD>`,
		mpd(`<SegmentURL media="a?b#c" index='x&amp;y'/><!-- <BaseURL>x</BaseURL> --><?pi ?>`),
	} {
		f.Add([]byte(s), uint16(len(s)/2), uint16(len(s)-1))
	}
	f.Fuzz(func(t *testing.T, doc []byte, c1, c2 uint16) {
		if bytes.Contains(doc, []byte(testV)) {
			return // the referee finds the session by its value
		}
		a, b := int(c1)%(len(doc)+1), int(c2)%(len(doc)+1)
		if a > b {
			a, b = b, a
		}
		if _, _, problem := verify(doc, a, b); problem != nil {
			t.Fatal(problem)
		}
	})
}
