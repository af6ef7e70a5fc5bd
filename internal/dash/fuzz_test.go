package dash

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
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
		`<!DOCTYPE MPD><MPD><BaseURL>a</BaseURL></MPD>`,
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

// FuzzTemplateHost: a template that takes the parameter keeps its host
// whatever its identifiers stand for: any Representation@id, any number.
func FuzzTemplateHost(f *testing.F) {
	for _, s := range []string{
		"$RepresentationID$/$Number$.m4s", "chunk-stream$RepresentationID$-$Number%05d$.m4s", "/$RepresentationID$/x",
		"https://media.example.com/$RepresentationID$/", "https://media.example.com$Number$/", "v/$RepresentationID$",
		"$$$RepresentationID$", "a$Number$/$RepresentationID$", "h$RepresentationID$", "//media.example.com/$Time$",
	} {
		f.Add(s, "//evil.example/", uint32(7))
	}
	network := []string{"", "http", "https", "ws", "wss", "ftp", "file", "rtmp", "rtsp", "tcp", "udp", "tls", "srt", "data", "blob", "crypto+http", "hls+http"}
	f.Fuzz(func(t *testing.T, tpl, id string, n uint32) {
		d := []byte(tpl)
		ok, needID := templateOK(d)
		if !ok || classify(tpl) == Foreign {
			return
		}
		if r := newRewriter(); needID && !r.idOK(d, []byte(id)) {
			return
		}
		num := strings.Repeat("7", int(n%20)+1)
		var u strings.Builder
		for i := 0; i < len(tpl); i++ {
			if tpl[i] != '$' {
				u.WriteByte(tpl[i])
				continue
			}
			j := strings.IndexByte(tpl[i+1:], '$')
			name := tpl[i+1 : i+1+j]
			switch {
			case name == "":
				u.WriteByte('$')
			case name == "RepresentationID":
				u.WriteString(id)
			default:
				u.WriteString(num)
			}
			i += j + 1
		}
		got := u.String()
		if classify(got) != Foreign {
			return
		}
		sch := schemeOf(got)
		for _, s := range network {
			if sch == s || strings.HasPrefix(sch, s+"+") {
				t.Fatalf("template %q takes the session, but with id %q it is %q", tpl, id, got)
			}
		}
	})
}
