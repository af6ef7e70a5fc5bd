package dash

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/privatevideo/privatevideo/internal/manifest"
)

// The tests' host and session.
const (
	ourHost  = "media.example.com"
	testP    = "avh"
	testV    = "S3ss10n-t0k3n"
	testPV   = testP + "=" + testV
	dashXMLN = `xmlns="urn:mpeg:dash:schema:mpd:2011"`
)

// classify is the tests' Classify, written apart from the package: a
// WHATWG reading (C0 and space trimmed, tabs and newlines dropped, '\' as
// '/', any run of slashes after a scheme), strict about hosts.
func classify(u string) Kind {
	s := strings.TrimFunc(u, func(r rune) bool { return r <= ' ' })
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	slash := func(c byte) bool { return c == '/' || c == '\\' }
	two := func(s string) bool { return len(s) >= 2 && slash(s[0]) && slash(s[1]) }
	if i := strings.IndexByte(s, ':'); i > 0 {
		sch := s[:i]
		isScheme := true
		for j := 0; j < len(sch); j++ {
			c := sch[j]
			letter := 'a' <= c|0x20 && c|0x20 <= 'z'
			if !(letter || j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
				isScheme = false
				break
			}
		}
		if isScheme {
			if !strings.EqualFold(sch, "http") && !strings.EqualFold(sch, "https") {
				return Foreign
			}
			if !two(s[i+1:]) {
				return Foreign
			}
			return hostOf(s[i+1:])
		}
	}
	if two(s) {
		return hostOf(s)
	}
	return Relative
}

func hostOf(s string) Kind {
	s = strings.TrimLeft(s, "/\\")
	if i := strings.IndexAny(s, "/\\?#"); i >= 0 {
		s = s[:i]
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '@' || c == '%' || c <= ' ' || c >= 0x7f {
			return Foreign
		}
	}
	if strings.EqualFold(s, ourHost) {
		return Ours
	}
	return Foreign
}

func newRewriter() *Rewriter {
	return &Rewriter{Param: testP, Value: testV, Classify: classify}
}

// oneShot rewrites doc in one Write.
func oneShot(doc []byte) ([]byte, error) {
	r := newRewriter()
	out, err := r.Write(nil, doc)
	if err != nil {
		return out, err
	}
	return r.Close(out)
}

// pieces rewrites doc written in pieces cut at the given offsets.
func pieces(doc []byte, cuts ...int) ([]byte, error) {
	r := newRewriter()
	var out []byte
	var err error
	last := 0
	for _, c := range append(cuts, len(doc)) {
		// A fresh copy, so that the rewriter cannot keep the caller's bytes.
		piece := append([]byte(nil), doc[last:c]...)
		if out, err = r.Write(out, piece); err != nil {
			return out, err
		}
		for i := range piece {
			piece[i] = 'X'
		}
		last = c
	}
	return r.Close(out)
}

// node is a parsed element, the referee's view of the document.
type node struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*node
	parent   *node
	text     []string // its character data, token by token
	mixed    bool     // something other than one text token inside
}

// parse is the referee: encoding/xml, strict. It returns the root
// pseudo-node and the token stream.
func parse(doc []byte) (*node, []xml.Token, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	root := &node{}
	cur := root
	var toks []xml.Token
	for {
		t, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		t = xml.CopyToken(t)
		toks = append(toks, t)
		switch t := t.(type) {
		case xml.StartElement:
			if len(cur.text) > 0 {
				cur.mixed = true
			}
			n := &node{name: t.Name, attrs: t.Attr, parent: cur}
			cur.children = append(cur.children, n)
			cur.mixed = cur.mixed || cur.parent != nil
			cur = n
		case xml.EndElement:
			if cur.parent == nil {
				return nil, nil, errors.New("referee: end without start")
			}
			cur = cur.parent
		case xml.CharData:
			if len(cur.text) > 0 || len(cur.children) > 0 {
				cur.mixed = true
			}
			cur.text = append(cur.text, string(t))
		case xml.Comment, xml.ProcInst, xml.Directive:
			cur.mixed = true
		}
	}
	// The namespaced decoder too: it checks what RawToken does not.
	d = xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if cur != root {
		return nil, nil, errors.New("referee: unclosed element")
	}
	return root, toks, nil
}

// inserted reports whether out is in with the parameter inserted once,
// in one of its three forms.
func inserted(in, out string) bool {
	for _, suf := range []string{"?" + testPV, "&" + testPV, testPV} {
		if len(out) != len(in)+len(suf) {
			continue
		}
		for k := 0; k <= len(in); k++ {
			if out[:k] == in[:k] && out[k:k+len(suf)] == suf && out[k+len(suf):] == in[k:] {
				return true
			}
		}
	}
	return false
}

// sameButParam checks that in and out hold the same tokens, but for the
// parameter inserted into some values.
func sameButParam(inToks, outToks []xml.Token) error {
	if len(inToks) != len(outToks) {
		return fmt.Errorf("%d tokens in, %d out", len(inToks), len(outToks))
	}
	for i := range inToks {
		switch a := inToks[i].(type) {
		case xml.StartElement:
			b, ok := outToks[i].(xml.StartElement)
			if !ok || a.Name != b.Name || len(a.Attr) != len(b.Attr) {
				return fmt.Errorf("token %d: %#v became %#v", i, a, outToks[i])
			}
			for j := range a.Attr {
				x, y := a.Attr[j], b.Attr[j]
				if x.Name != y.Name || x.Value != y.Value && !inserted(x.Value, y.Value) {
					return fmt.Errorf("token %d: attribute %q=%q became %q=%q", i, x.Name.Local, x.Value, y.Name.Local, y.Value)
				}
			}
		case xml.CharData:
			b, ok := outToks[i].(xml.CharData)
			if !ok || string(a) != string(b) && !inserted(string(a), string(b)) {
				return fmt.Errorf("token %d: text %q became %#v", i, a, outToks[i])
			}
		default:
			if fmt.Sprintf("%#v", inToks[i]) != fmt.Sprintf("%#v", outToks[i]) {
				return fmt.Errorf("token %d: %#v became %#v", i, inToks[i], outToks[i])
			}
		}
	}
	return nil
}

func local(n xml.Name) string {
	// RawToken leaves the prefix in Space.
	return n.Local
}

// levelSafe is the referee's judgement of one element's level: all of its
// BaseURL children (any namespace) and its xml:base are ours or relative,
// read as plainly as possible; allAbs when they are all absolute.
func levelSafe(n *node) (safe, allAbs bool, count int) {
	safe, allAbs = true, true
	judge := func(v string, plain bool) {
		count++
		k := classify(v)
		if !plain || k == Foreign {
			safe = false
		}
		if k != Ours {
			allAbs = false
		}
	}
	for _, a := range n.attrs {
		if a.Name.Space == "xml" && a.Name.Local == "base" {
			judge(a.Value, true)
		}
	}
	for _, c := range n.children {
		if local(c.name) != "BaseURL" {
			continue
		}
		plain := !c.mixed && len(c.text) <= 1 && len(c.children) == 0
		for _, a := range c.attrs {
			if a.Name.Local == "byteRange" {
				plain = false
			}
		}
		judge(strings.Join(c.text, ""), plain)
	}
	return safe, allAbs, count
}

// chainOK: a relative URL resolved from n outward stays ours. Location
// elements under the root element are the outermost level.
func chainOK(n *node) bool {
	for ; n != nil; n = n.parent {
		if n.parent == nil { // the document: its Locations
			for _, top := range n.children {
				for _, c := range top.children {
					if local(c.name) == "Location" && (classify(strings.Join(c.text, "")) == Foreign || c.mixed || len(c.text) > 1) {
						return false
					}
				}
			}
			return true
		}
		safe, allAbs, count := levelSafe(n)
		if !safe {
			return false
		}
		if count > 0 && allAbs {
			return true
		}
	}
	return true
}

var family = map[string]bool{
	"SegmentTemplate": true, "SegmentList": true, "SegmentBase": true, "SegmentURL": true,
	"Initialization": true, "RepresentationIndex": true, "BitstreamSwitching": true, "SegmentTimeline": true,
}

// noLeak checks, on the output's tree, that every value carrying the
// session is ours: absolute on our host, or relative with a chain that is
// ours, from its element and, for segment information, from every element
// below the owner that inherits it.
func noLeak(root *node) error {
	var walk func(n *node) error
	check := func(n *node, v string, from *node, inherited bool) error {
		if !strings.Contains(v, testV) {
			return nil
		}
		orig := v
		for _, suf := range []string{"?" + testPV, "&" + testPV, testPV} {
			if i := strings.Index(v, suf); i >= 0 {
				orig = v[:i] + v[i+len(suf):]
				break
			}
		}
		switch classify(orig) {
		case Foreign:
			return fmt.Errorf("a foreign URL %q carries the session (%q in <%s>)", orig, v, local(n.name))
		}
		if strings.Contains(orig, "$RepresentationID$") && local(n.name) == "SegmentTemplate" {
			if err := idsKeepHost(n, orig); err != nil {
				return err
			}
		}
		if classify(orig) == Ours {
			return nil
		}
		if !chainOK(from) {
			return fmt.Errorf("relative %q in <%s> resolves through a foreign base", orig, local(n.name))
		}
		if inherited {
			owner := n
			for owner.parent != nil && family[local(owner.name)] {
				owner = owner.parent
			}
			var below func(m *node) error
			below = func(m *node) error {
				if !chainOK(m) {
					return fmt.Errorf("relative %q in <%s> is inherited by <%s> whose chain is foreign", orig, local(n.name), local(m.name))
				}
				for _, c := range m.children {
					if err := below(c); err != nil {
						return err
					}
				}
				return nil
			}
			return below(owner)
		}
		return nil
	}
	walk = func(n *node) error {
		if n.parent != nil {
			for _, a := range n.attrs {
				if err := check(n, a.Value, n, family[local(n.name)]); err != nil {
					return err
				}
			}
			from := n.parent
			if from != nil && from.parent != nil {
				from = from.parent
			}
			for _, t := range n.text {
				if err := check(n, t, from, false); err != nil {
					return err
				}
			}
		}
		for _, c := range n.children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root)
}

// verify runs every check on one document: split-invariance at the given
// cuts, and when the input is well-formed, the output is too, with the
// same tokens but for the parameter, and no leak. It returns the output.
func verify(doc []byte, cuts ...int) ([]byte, error, error) {
	out, err := oneShot(doc)
	if len(cuts) > 0 {
		out2, err2 := pieces(doc, cuts...)
		if !errors.Is(err2, err) || err == nil && !bytes.Equal(out, out2) {
			return out, err, fmt.Errorf("split at %v: %v %q, one shot: %v %q", cuts, err2, out2, err, out)
		}
	}
	if err != nil {
		return out, err, nil
	}
	_, inToks, inErr := parse(doc)
	outRoot, outToks, outErr := parse(out)
	if (inErr == nil) != (outErr == nil) {
		return out, nil, fmt.Errorf("input parses: %v, output parses: %v\nin:  %q\nout: %q", inErr, outErr, doc, out)
	}
	if inErr != nil {
		return out, nil, nil
	}
	if e := sameButParam(inToks, outToks); e != nil {
		return out, nil, fmt.Errorf("%v\nin:  %q\nout: %q", e, doc, out)
	}
	if e := noLeak(outRoot); e != nil {
		return out, nil, fmt.Errorf("%v\nin:  %q\nout: %q", e, doc, out)
	}
	return out, nil, nil
}

// idsKeepHost: a template that carries the session, with the id of every
// Representation that may use it (its enclosing one, or all below its
// owner) in place, is not foreign, unless its scheme is one no player
// fetches from the network.
func idsKeepHost(n *node, tpl string) error {
	var reps []*node
	for m := n.parent; m != nil; m = m.parent {
		if local(m.name) == "Representation" {
			reps = append(reps, m)
			break
		}
	}
	if len(reps) == 0 {
		owner := n.parent
		var below func(m *node)
		below = func(m *node) {
			if local(m.name) == "Representation" {
				reps = append(reps, m)
			}
			for _, c := range m.children {
				below(c)
			}
		}
		below(owner)
	}
	for _, rep := range reps {
		id := ""
		for _, a := range rep.attrs {
			if a.Name.Local == "id" && a.Name.Space == "" {
				id = a.Value
			}
		}
		u := strings.ReplaceAll(tpl, "$RepresentationID$", id)
		for _, num := range []string{"$Number$", "$Time$", "$Bandwidth$", "$SubNumber$"} {
			u = strings.ReplaceAll(u, num, "7")
		}
		u = strings.ReplaceAll(u, "$$", "$")
		if classify(u) != Foreign {
			continue
		}
		if sch := schemeOf(u); sch == "" || sch == "http" || sch == "https" {
			return fmt.Errorf("template %q carries the session, and Representation id %q makes it %q", tpl, id, u)
		}
	}
	return nil
}

// schemeOf returns u's scheme, lower case, as a WHATWG parser finds it
// (C0 controls and spaces trimmed, tabs and newlines dropped), or "".
func schemeOf(u string) string {
	s := strings.TrimFunc(u, func(r rune) bool { return r <= ' ' })
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	if i := manifest.SchemeEnd([]byte(s)); i > 0 {
		return strings.ToLower(s[:i])
	}
	return ""
}
