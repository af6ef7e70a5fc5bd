package dash

import (
	"bytes"
	"errors"
)

// Kind is what Classify says of a URL.
type Kind uint8

const (
	// Foreign: a URL that leads to another host, or one that cannot be
	// judged. It never gets the parameter. It is the zero Kind, so that a
	// Classify that answers nothing useful fails closed.
	Foreign Kind = iota
	// Relative: no scheme and no authority (path-absolute or
	// path-relative): it is resolved against the BaseURL chain.
	Relative
	// Ours: an absolute or scheme-relative URL that names our host.
	Ours
)

// Bounds. A Rewriter holds at most one unfinished construct of input
// (MaxConstruct, and the rest of the Write that brought it), the text
// of one URL element (MaxConstruct) and the templates waiting for
// Representation ids (maxPending), whatever the document's size.
const (
	// MaxConstruct bounds one tag, comment, CDATA section, processing
	// instruction, DOCTYPE, or the text of a URL element (BaseURL,
	// Location, PatchLocation). Other text passes as it streams, unbounded.
	MaxConstruct = 64 << 10
	// MaxDepth bounds the nesting of elements.
	MaxDepth = 64
	// MaxBaseURLs bounds the BaseURL alternatives (and xml:base) at one
	// level, and the Location elements of the document.
	MaxBaseURLs = 64
	// MaxNamespaces bounds the namespace declarations in scope.
	MaxNamespaces = 256
	// maxPending bounds the templates kept until the Representations
	// whose ids they need have come.
	maxPending = 4 << 10
)

// Errors. After any of them the Rewriter stays failed, and what it wrote
// must not reach a client as a whole document.
var (
	ErrTooLarge          = errors.New("dash: a construct exceeds MaxConstruct")
	ErrTooDeep           = errors.New("dash: elements nest deeper than MaxDepth")
	ErrTooManyBases      = errors.New("dash: more BaseURL alternatives at one level than MaxBaseURLs")
	ErrMalformed         = errors.New("dash: the document is not well-formed XML")
	ErrTruncated         = errors.New("dash: the document ends inside a construct or an element")
	ErrDoctype           = errors.New("dash: a DOCTYPE with declarations, parameter entities or an external subset")
	ErrTooManyNamespaces = errors.New("dash: more namespace declarations in scope than MaxNamespaces")
	ErrLateBase          = errors.New("dash: a BaseURL or Location not ours comes after URLs that resolve against it were rewritten")
	ErrRepresentationID  = errors.New("dash: a Representation@id would move a rewritten template to another host")
	ErrUnsupported       = errors.New("dash: the MPD uses URL query copying (UrlQueryInfo, ExtUrlQueryInfo, ExtHttpHeaderInfo) or ContentSteering")
	ErrConfiguration     = errors.New("dash: Param must be 1 to 64 URL-safe characters, Value at most 4096, and Classify set")
)

// Rewriter appends Param=Value to every URL of one MPD that a player will
// fetch and that stays on our host. Set Param, Value and Classify, then
// call Write for each piece of the document and Close at its end. A
// Rewriter serves one document; it is not safe for concurrent use.
type Rewriter struct {
	Param, Value string
	// Classify judges a URL, XML-decoded, as it stands in the document
	// (not yet resolved against any BaseURL); when the value holds
	// references it is also asked about the value as written, and the
	// worse answer counts. A template comes with its $identifiers$ in
	// place, and again with each Representation@id it needs substituted.
	// It is called on the Write goroutine and must not retain u.
	Classify func(u string) Kind

	ready bool
	err   error
	sufQ  []byte // "?P=V"
	sufA  []byte // "&amp;P=V", XML-escaped
	sufN  []byte // "P=V", after a trailing ? or &

	held   []byte  // an unfinished construct carried to the next Write
	resume int     // how far the held construct was scanned
	quote  byte    // and the quote a held start tag was in there
	frames []frame // frames[0] is the document, then the open elements
	names  []byte  // the raw names of the open elements
	binds  []binding
	nsText []byte  // the prefixes of binds
	attrs  []attr  // the current start tag's attributes
	ins    []ins   // insertions into the current tag
	dec    []byte  // a decoded value
	pos    []int32 // pos[i]: offset in the raw value of dec[i]'s source
	text   []byte  // the held text of the URL element being collected

	rep      int    // the open Representation's frame, or 0
	repID    []byte // its id
	repOdd   bool   // its id is not plain
	outer    []int  // enclosing Representations, when they nest
	pending  []pendingTemplate
	pendText []byte
	collect  int // the frame whose text is collected, or -1
}

// elem is what an element is to the rewriter.
type elem uint8

const (
	eOther elem = iota
	eMPD
	eBaseURL
	eLocation
	ePatchLocation
	eSegmentTemplate
	eSegmentList
	eSegmentBase
	eSegmentURL
	eInitialization
	eRepresentationIndex
	eBitstreamSwitching
	eSegmentTimeline
	eXlinkable // Period, AdaptationSet, EventStream: xlink:href
	eRefused   // UrlQueryInfo and the like: ErrUnsupported
)

// family reports whether e is segment information, whose URLs the
// Representations below its owner inherit.
func (e elem) family() bool { return e >= eSegmentTemplate && e <= eSegmentTimeline }

type frame struct {
	nameStart, nameEnd int
	bindStart          int
	elem               elem
	dash               bool // in the DASH namespace, or in none
	urlText            bool // a BaseURL, Location or PatchLocation: its text is a URL
	odd                bool // its text is not plain (CDATA, a comment, a child...)
	foreign            bool // a BaseURL with @byteRange: not ours, whatever it says

	// The BaseURL level this element opens.
	bases    int
	unsafe   bool // an alternative is not ours
	allAbs   bool // every alternative is absolute and ours (resets the chain)
	depended bool // a rewritten relative URL resolves through this level
	inherit  bool // a rewritten relative segment URL is inherited from here
	// What was seen below this element, for segment information that
	// comes after the Representations it applies to.
	unsafeBelow bool // a level at or below it is not ours
	sawRep      bool // a Representation
}

// pendingTemplate is a rewritten template whose host depends on the ids
// of Representations still to come below its owner.
type pendingTemplate struct {
	owner, start, end int
}

type binding struct {
	pStart, pEnd int
	ns           nsKind
}

type nsKind uint8

const (
	nsNone nsKind = iota // no namespace (xmlns="" or nothing declared)
	nsDASH
	nsXlink
	nsXML
	nsOther
	nsUnbound
)

type attr struct {
	nameStart, nameEnd int // in the tag
	valStart, valEnd   int // in the tag, inside the quotes
}

type ins struct {
	at  int // offset in the tag (or text)
	suf []byte
}

const (
	dashNS  = "urn:mpeg:dash:schema:mpd:2011"
	xlinkNS = "http://www.w3.org/1999/xlink"
	xmlNS   = "http://www.w3.org/XML/1998/namespace"
)

func (r *Rewriter) setup() error {
	r.ready = true
	if r.Classify == nil || len(r.Param) == 0 || len(r.Param) > 64 || len(r.Value) > 4096 {
		return ErrConfiguration
	}
	for i := 0; i < len(r.Param); i++ {
		if !urlSafe(r.Param[i]) || r.Param[i] == '=' {
			return ErrConfiguration
		}
	}
	for i := 0; i < len(r.Value); i++ {
		if !urlSafe(r.Value[i]) {
			return ErrConfiguration
		}
	}
	pv := r.Param + "=" + r.Value
	r.sufQ = []byte("?" + pv)
	r.sufA = []byte("&amp;" + pv)
	r.sufN = []byte(pv)
	r.frames = append(r.frames[:0], frame{})
	r.collect = -1
	return nil
}

// urlSafe: the characters allowed in Param and Value. None of them means
// anything to XML, to a URL's query, or to a DASH template ($).
func urlSafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '='
}

// Write consumes in and appends to out the rewritten output that is
// complete so far. It holds back only an unfinished construct (and the
// text of an unfinished URL element). On an error, out holds what was
// complete before it; the document must then be failed, not sent whole.
func (r *Rewriter) Write(out, in []byte) ([]byte, error) {
	if !r.ready {
		if err := r.setup(); err != nil {
			r.err = err
		}
	}
	if r.err != nil {
		return out, r.err
	}
	b := in
	if len(r.held) > 0 {
		r.held = append(r.held, in...)
		b = r.held
	}
	n, out, err := r.scan(out, b, false)
	if err != nil {
		r.err = err
		return out, err
	}
	rest := b[n:]
	switch {
	case len(r.held) > 0 && n == 0:
		// Still the same unfinished construct: nothing to move.
	case len(r.held) > 0:
		r.held = r.held[:copy(r.held, rest)]
	default:
		r.held = append(r.held[:0], rest...)
	}
	return out, nil
}

// Close ends the document: it appends what was held back, or fails with
// ErrTruncated when the document stops inside a construct or an element.
func (r *Rewriter) Close(out []byte) ([]byte, error) {
	if !r.ready {
		if err := r.setup(); err != nil {
			r.err = err
		}
	}
	if r.err != nil {
		return out, r.err
	}
	n, out, err := r.scan(out, r.held, true)
	if err == nil && (n < len(r.held) || len(r.frames) > 1) {
		err = ErrTruncated
	}
	r.held = r.held[:0]
	if err != nil {
		r.err = err
		return out, err
	}
	r.err = errClosed
	return out, nil
}

var errClosed = errors.New("dash: Write or Close after Close")

type token uint8

const (
	tNeed token = iota
	tComment
	tCDATA
	tPI
	tDoctype
	tEnd
	tStart
)

// scan rewrites the complete constructs of b, returning how much of b it
// consumed.
func (r *Rewriter) scan(out, b []byte, final bool) (int, []byte, error) {
	p := 0
	for p < len(b) {
		if b[p] != '<' {
			end := len(b)
			if q := bytes.IndexByte(b[p:], '<'); q >= 0 {
				end = p + q
			}
			if r.collect >= 0 {
				if len(r.text)+end-p > MaxConstruct {
					return p, out, ErrTooLarge
				}
				r.text = append(r.text, b[p:end]...)
			} else {
				out = append(out, b[p:end]...)
			}
			p = end
			continue
		}
		// A construct longer than MaxConstruct fails whatever follows, so
		// no more than that is looked at: the outcome does not depend on
		// where the input was cut.
		from, q := 0, byte(0)
		if p == 0 {
			from, q = r.resume, r.quote // the held construct, scanned before
		}
		n, t, next, nq, err := construct(b[p:min(len(b), p+MaxConstruct+1)], from, q)
		if err != nil {
			return p, out, err
		}
		if t == tNeed {
			if final {
				return p, out, ErrTruncated
			}
			if len(b)-p > MaxConstruct {
				return p, out, ErrTooLarge
			}
			r.resume, r.quote = next, nq
			break
		}
		if n > MaxConstruct {
			return p, out, ErrTooLarge
		}
		r.resume, r.quote = 0, 0
		out, err = r.handle(out, b[p:p+n], t)
		if err != nil {
			return p, out, err
		}
		p += n
	}
	return p, out, nil
}

// construct measures the construct that starts b (at a '<'): its length
// and kind, or tNeed when b does not hold all of it yet. A construct that
// was not all there before resumes where its scan stopped (from, with the
// quote state q of a start tag), so that a construct written a byte at a
// time costs O(n); on tNeed, next and nq say where to resume.
func construct(b []byte, from int, q byte) (n int, t token, next int, nq byte, err error) {
	if len(b) < 2 {
		return 0, tNeed, 0, 0, nil
	}
	// find looks for a terminator from where the last scan could not have
	// seen all of it.
	find := func(min int, end string) int {
		at := max(min, from-len(end)+1)
		if at > len(b) {
			return -1
		}
		if i := bytes.Index(b[at:], []byte(end)); i >= 0 {
			return at + i + len(end)
		}
		return -1
	}
	switch b[1] {
	case '?':
		if n := find(2, "?>"); n > 0 {
			return n, tPI, 0, 0, nil
		}
		return 0, tNeed, len(b), 0, nil
	case '/':
		if n := find(2, ">"); n > 0 {
			return n, tEnd, 0, 0, nil
		}
		return 0, tNeed, len(b), 0, nil
	case '!':
		for _, k := range [...]struct {
			open string
			t    token
		}{{"<!--", tComment}, {"<![CDATA[", tCDATA}, {"<!DOCTYPE", tDoctype}} {
			if len(b) < len(k.open) {
				if bytes.HasPrefix([]byte(k.open), b) {
					return 0, tNeed, 0, 0, nil
				}
				continue
			}
			if !bytes.HasPrefix(b, []byte(k.open)) {
				continue
			}
			switch k.t {
			case tComment:
				if n := find(4, "-->"); n > 0 {
					return n, tComment, 0, 0, nil
				}
			case tCDATA:
				if n := find(9, "]]>"); n > 0 {
					return n, tCDATA, 0, 0, nil
				}
			case tDoctype:
				n, err := doctypeEnd(b, from)
				if n > 0 || err != nil {
					return n, tDoctype, 0, 0, err
				}
			}
			return 0, tNeed, len(b), 0, nil
		}
		return 0, tNeed, 0, 0, ErrMalformed
	}
	// A start tag: up to the first '>' outside quotes.
	for i := max(1, from); i < len(b); i++ {
		c := b[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			return i + 1, tStart, 0, 0, nil
		case c == '<':
			return 0, tNeed, 0, 0, ErrMalformed
		}
	}
	return 0, tNeed, len(b), q, nil
}

// doctypeEnd returns the length of the DOCTYPE that starts b, 0 when it is
// not all there. Only a bare "<!DOCTYPE name>" passes: an internal subset
// (ENTITY and ATTLIST declarations give a parser entities and default
// attributes, and parsers disagree on where a subset holding comments
// ends), an external ID (SYSTEM, PUBLIC) and parameter entities are
// refused. No MPD needs a DOCTYPE.
func doctypeEnd(b []byte, from int) (int, error) {
	const open = len("<!DOCTYPE")
	for i := max(open, from); i < len(b); i++ {
		switch c := b[i]; {
		case c == '>':
			if n := bytes.Fields(b[open:i]); len(n) != 1 || !isSpace(b[open]) {
				return 0, ErrDoctype // no name, an external ID, or no space after DOCTYPE
			}
			return i + 1, nil
		case c == '[' || c == '%' || c == '"' || c == '\'' || c == '<':
			return 0, ErrDoctype
		}
	}
	return 0, nil
}

// handle rewrites one complete construct.
func (r *Rewriter) handle(out, tok []byte, t token) ([]byte, error) {
	if t != tEnd {
		out = r.interrupt(out)
	}
	switch t {
	case tPI:
		if !encodingOK(tok) {
			return out, ErrUnsupported
		}
		return append(out, tok...), nil
	case tComment, tCDATA:
		return append(out, tok...), nil
	case tDoctype:
		if len(r.frames) > 1 {
			return out, ErrMalformed
		}
		return append(out, tok...), nil
	case tEnd:
		return r.end(out, tok)
	}
	return r.start(out, tok)
}

// interrupt ends the collection of a URL element's text: something other
// than its end tag came, so its value is not plain text and it is left
// as it is.
func (r *Rewriter) interrupt(out []byte) []byte {
	if r.collect < 0 {
		return out
	}
	r.frames[r.collect].odd = true
	r.collect = -1
	out = append(out, r.text...)
	r.text = r.text[:0]
	return out
}

// encodingOK reports whether a processing instruction, when it is the XML
// declaration, declares an encoding that this byte scanner reads as it is
// meant: ASCII-compatible, its URLs in ASCII. UTF-16 and the like are
// refused rather than misread.
func encodingOK(pi []byte) bool {
	if len(pi) < 6 || !bytes.HasPrefix(pi, []byte("<?xml")) || !isSpace(pi[5]) {
		return true
	}
	i := bytes.Index(pi, []byte("encoding"))
	if i < 0 {
		return true
	}
	v := bytes.TrimLeft(pi[i+len("encoding"):], " \t\r\n")
	if len(v) == 0 || v[0] != '=' {
		return false
	}
	v = bytes.TrimLeft(v[1:], " \t\r\n")
	if len(v) == 0 || v[0] != '"' && v[0] != '\'' {
		return false
	}
	end := bytes.IndexByte(v[1:], v[0])
	if end < 0 {
		return false
	}
	switch string(bytes.ToLower(v[1 : 1+end])) {
	case "utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1", "iso-8859-15", "windows-1252":
		return true
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// end handles an end tag.
func (r *Rewriter) end(out, tok []byte) ([]byte, error) {
	name := tok[2 : len(tok)-1]
	for len(name) > 0 && isSpace(name[len(name)-1]) {
		name = name[:len(name)-1]
	}
	top := len(r.frames) - 1
	if top == 0 {
		return out, ErrMalformed
	}
	f := &r.frames[top]
	if !bytes.Equal(name, r.names[f.nameStart:f.nameEnd]) {
		return out, ErrMalformed
	}
	var err error
	if out, err = r.closeURL(out, top); err != nil {
		return out, err
	}
	out = append(out, tok...)
	r.pop()
	return out, nil
}

// closeURL ends a URL element: its text, collected, is rewritten when it
// is ours, and its value joins the BaseURL chain where it belongs.
func (r *Rewriter) closeURL(out []byte, top int) ([]byte, error) {
	f := &r.frames[top]
	collected := r.collect == top
	r.collect = -1
	if !f.urlText {
		return out, nil
	}
	raw := r.text
	kind := Foreign
	if collected && !f.odd && !f.foreign {
		if dec, ok := r.decode(raw, false); ok {
			kind = r.judge(raw, dec)
		}
	}
	rewritten := false
	if collected && f.dash && kind != Foreign {
		// The chain a BaseURL resolves against starts above the level it
		// belongs to; a Location resolves against the MPD's own URL.
		from := top - 2
		if f.elem == ePatchLocation {
			from = top - 1
		}
		if f.elem == eLocation {
			from = -1
		}
		if kind == Ours || r.chainSafe(from) {
			var ok bool
			if out, ok = r.appendRewritten(out, raw, false); ok {
				rewritten = true
				if kind == Relative {
					r.depend(from)
				}
			}
		}
	}
	if collected && !rewritten {
		out = append(out, raw...)
	}
	r.text = r.text[:0]
	switch f.elem {
	case eBaseURL:
		return out, r.addBase(top-1, kind)
	case eLocation:
		return out, r.addBase(0, kind)
	}
	return out, nil
}

func (r *Rewriter) pop() {
	top := len(r.frames) - 1
	f := r.frames[top]
	if r.rep == top {
		r.rep = 0
		if n := len(r.outer); n > 0 {
			// Back in an enclosing Representation whose id is gone: no
			// template that needs it is rewritten there.
			r.rep, r.outer = r.outer[n-1], r.outer[:n-1]
			r.repID = append(r.repID[:0], '$')
		}
	}
	for len(r.pending) > 0 && r.pending[len(r.pending)-1].owner >= top {
		r.pendText = r.pendText[:r.pending[len(r.pending)-1].start]
		r.pending = r.pending[:len(r.pending)-1]
	}
	r.names = r.names[:f.nameStart]
	if f.bindStart < len(r.binds) {
		r.nsText = r.nsText[:r.binds[f.bindStart].pStart]
		r.binds = r.binds[:f.bindStart]
	}
	r.frames = r.frames[:top]
}

func (r *Rewriter) classify(dec []byte) Kind {
	switch k := r.Classify(string(dec)); k {
	case Relative, Ours:
		return k
	}
	return Foreign
}

// judge classifies a value as a parser that decodes references reads it
// (dec) and as one that does not (raw), keeping the worse reading: Foreign
// over Relative over Ours.
func (r *Rewriter) judge(raw, dec []byte) Kind {
	k := r.classify(dec)
	if k == Foreign || bytes.Equal(raw, dec) {
		return k
	}
	if kr := r.classify(raw); kr == Foreign || kr == Relative {
		return kr
	}
	return k
}

// chainSafe reports whether a relative URL resolved from level i outward
// stays ours: every level up to the innermost one whose alternatives are
// all absolute and ours has only alternatives that are ours or relative.
// With i < 0 the chain is the MPD's own URL: ours.
func (r *Rewriter) chainSafe(i int) bool {
	for ; i >= 0; i-- {
		f := &r.frames[i]
		if f.unsafe {
			return false
		}
		if f.bases > 0 && f.allAbs {
			return true
		}
	}
	return true
}

// depend marks the levels a rewritten relative URL resolved through, so
// that a later alternative that makes them unsafe fails the document.
func (r *Rewriter) depend(i int) {
	for ; i >= 0; i-- {
		f := &r.frames[i]
		f.depended = true
		if f.bases > 0 && f.allAbs {
			return
		}
	}
}

// addBase adds a BaseURL alternative (or a Location, at level 0, or an
// xml:base) of the given kind to level i.
func (r *Rewriter) addBase(i int, k Kind) error {
	f := &r.frames[i]
	if f.bases >= MaxBaseURLs {
		return ErrTooManyBases
	}
	if f.bases == 0 {
		f.allAbs = true
	}
	f.bases++
	switch k {
	case Ours:
	case Relative:
		f.allAbs = false
	default:
		f.unsafe, f.allAbs = true, false
	}
	if r.chainSafe(i) {
		return nil
	}
	for j := 0; j <= i; j++ {
		r.frames[j].unsafeBelow = true
	}
	// Unsafe now: nothing rewritten may resolve through it. URLs of
	// segment information are inherited by the levels below their owner,
	// so an owner at or above i counts too.
	for j := 0; j <= i; j++ {
		if r.frames[j].inherit || j == i && r.frames[j].depended {
			return ErrLateBase
		}
	}
	return nil
}
