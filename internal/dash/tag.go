package dash

import (
	"bytes"
	"unicode/utf8"
)

// start handles a start tag (or an empty-element tag).
func (r *Rewriter) start(out, tok []byte) ([]byte, error) {
	nameEnd, selfClose, err := r.parseTag(tok)
	if err != nil {
		return out, err
	}
	if len(r.frames) > MaxDepth {
		return out, ErrTooDeep
	}
	name := tok[1:nameEnd]
	f := frame{nameStart: len(r.names), bindStart: len(r.binds)}
	r.names = append(r.names, name...)
	f.nameEnd = len(r.names)

	// Namespace declarations first: they bind this tag's own names too.
	for _, a := range r.attrs {
		an := tok[a.nameStart:a.nameEnd]
		var prefix []byte
		switch {
		case string(an) == "xmlns":
		case bytes.HasPrefix(an, []byte("xmlns:")):
			prefix = an[len("xmlns:"):]
		default:
			continue
		}
		ns := nsOther
		if dec, ok := r.decode(tok[a.valStart:a.valEnd], true); ok {
			switch string(dec) {
			case "":
				ns = nsNone
			case dashNS:
				ns = nsDASH
			case xlinkNS:
				ns = nsXlink
			case xmlNS:
				ns = nsXML
			}
		}
		if len(r.binds) >= MaxNamespaces {
			return out, ErrTooManyNamespaces
		}
		b := binding{pStart: len(r.nsText), ns: ns}
		r.nsText = append(r.nsText, prefix...)
		b.pEnd = len(r.nsText)
		r.binds = append(r.binds, b)
	}

	prefix, local := splitName(name)
	ns := r.lookup(prefix)
	f.dash = ns == nsDASH || ns == nsNone
	f.elem = elemOf(local, f.dash)
	top := len(r.frames) // this element's frame index, once pushed
	switch string(local) {
	case "BaseURL":
		f.urlText, f.elem = true, eBaseURL // in any namespace: a player may read it
	case "Location":
		if top == 2 { // a child of the root element
			f.urlText, f.elem = true, eLocation
		}
	case "PatchLocation":
		f.urlText = f.dash
	case "UrlQueryInfo", "ExtUrlQueryInfo", "ExtHttpHeaderInfo", "ContentSteering":
		return out, ErrUnsupported
	}
	if f.elem == eMPD && top != 1 {
		f.elem = eOther
	}
	r.frames = append(r.frames, f)

	r.ins = r.ins[:0]
	// xml:base opens a level of its own before this tag's URLs.
	for _, a := range r.attrs {
		p, l := splitName(tok[a.nameStart:a.nameEnd])
		if string(l) == "base" && len(p) > 0 && r.lookup(p) == nsXML {
			kind, raw := Foreign, tok[a.valStart:a.valEnd]
			if dec, ok := r.decode(raw, true); ok {
				kind = r.judge(raw, dec)
			}
			if err := r.addBase(top, kind); err != nil {
				return out, err
			}
		}
	}
	if string(local) == "Representation" { // in any namespace: a player may read it
		if err := r.representation(tok, top); err != nil {
			return out, err
		}
	}
	if err := r.remote(tok, local, top); err != nil {
		return out, err
	}
	if f.elem == eBaseURL {
		for _, a := range r.attrs {
			if string(tok[a.nameStart:a.nameEnd]) == "byteRange" {
				r.frames[top].foreign = true // Annex E: the request is built from a template of its own
			}
		}
	}
	for _, a := range r.attrs {
		if !r.urlAttr(f.elem, tok[a.nameStart:a.nameEnd]) {
			continue
		}
		r.attrURL(tok[a.valStart:a.valEnd], a.valStart, top, f.elem == eSegmentTemplate)
	}
	at := 0
	for _, in := range r.ins {
		out = append(out, tok[at:in.at]...)
		out = append(out, in.suf...)
		at = in.at
	}
	out = append(out, tok[at:]...)

	if selfClose {
		var err error
		if f.urlText {
			r.collect = top // an empty value
			r.text = r.text[:0]
		}
		if out, err = r.closeURL(out, top); err != nil {
			return out, err
		}
		r.pop()
		return out, nil
	}
	if f.urlText {
		r.collect = top
		r.text = r.text[:0]
	}
	return out, nil
}

func elemOf(local []byte, dash bool) elem {
	if !dash {
		return eOther
	}
	switch string(local) {
	case "MPD":
		return eMPD
	case "SegmentTemplate":
		return eSegmentTemplate
	case "SegmentList":
		return eSegmentList
	case "SegmentBase":
		return eSegmentBase
	case "SegmentURL":
		return eSegmentURL
	case "Initialization":
		return eInitialization
	case "RepresentationIndex":
		return eRepresentationIndex
	case "BitstreamSwitching":
		return eBitstreamSwitching
	case "SegmentTimeline":
		return eSegmentTimeline
	case "Period", "AdaptationSet", "EventStream":
		return eXlinkable
	case "PatchLocation":
		return ePatchLocation
	}
	return eOther
}

// representation records the id of a Representation that opens at frame
// top, and checks it against the templates it inherits that need it.
func (r *Rewriter) representation(tok []byte, top int) error {
	for j := 0; j < top; j++ {
		r.frames[j].sawRep = true
	}
	if r.rep > 0 {
		r.outer = append(r.outer, r.rep) // nested, as no schema has it
	}
	r.rep, r.repID, r.repOdd = top, r.repID[:0], false
	for _, a := range r.attrs {
		if string(tok[a.nameStart:a.nameEnd]) != "id" {
			continue
		}
		if dec, ok := r.decode(tok[a.valStart:a.valEnd], true); ok && !r.repOdd {
			r.repID = append(r.repID[:0], dec...)
		} else {
			r.repOdd = true
		}
	}
	for _, p := range r.pending {
		if r.repOdd || !r.idOK(r.pendText[p.start:p.end], r.repID) {
			return ErrRepresentationID
		}
	}
	if r.repOdd {
		r.repID = append(r.repID[:0], '$') // idOK refuses it
	}
	return nil
}

// addPending keeps a rewritten template that needs the ids of the
// Representations to come, until its owner closes. It reports false when
// that would hold more than maxPending bytes: the template is then left as
// it is. Each Representation is checked against all of them, so the bound
// also bounds that work.
func (r *Rewriter) addPending(tpl []byte, top int) bool {
	if len(r.pendText)+len(tpl) > maxPending {
		return false
	}
	owner := r.owner(top)
	if r.frames[owner].sawRep {
		return false // Representations came before it: their ids are gone
	}
	p := pendingTemplate{owner: owner, start: len(r.pendText)}
	r.pendText = append(r.pendText, tpl...)
	p.end = len(r.pendText)
	r.pending = append(r.pending, p)
	return true
}

// remote handles a Period or AdaptationSet (in any namespace) that xlink
// replaces with remote content. That content, from wherever it comes, may
// bring BaseURLs and Representation ids of its own, under the segment
// information its ancestors pass down: so that information, if rewritten
// already, fails the document, and from now on is not rewritten.
func (r *Rewriter) remote(tok, local []byte, top int) error {
	if string(local) != "Period" && string(local) != "AdaptationSet" {
		return nil
	}
	for _, a := range r.attrs {
		p, l := splitName(tok[a.nameStart:a.nameEnd])
		if string(l) != "href" || len(p) == 0 {
			continue
		}
		if string(tok[a.valStart:a.valEnd]) == "urn:mpeg:dash:resolve-to-zero:2013" {
			continue // the element goes away
		}
		for j := 0; j < top; j++ {
			if r.frames[j].inherit {
				return ErrLateBase
			}
			r.frames[j].unsafeBelow, r.frames[j].sawRep = true, true
		}
		if len(r.pending) > 0 {
			return ErrRepresentationID
		}
	}
	return nil
}

// owner returns the element that segment information at frame top belongs
// to: the nearest enclosing element that is not segment information.
func (r *Rewriter) owner(top int) int {
	for top > 0 && r.frames[top].elem.family() {
		top--
	}
	return top
}

// urlAttr reports whether the attribute named n of an element e holds a
// URL to rewrite.
func (r *Rewriter) urlAttr(e elem, n []byte) bool {
	switch e {
	case eSegmentTemplate:
		switch string(n) {
		case "media", "initialization", "index", "bitstreamSwitching":
			return true
		}
	case eSegmentURL:
		return string(n) == "media" || string(n) == "index"
	case eInitialization, eRepresentationIndex, eBitstreamSwitching:
		return string(n) == "sourceURL"
	}
	if e == eXlinkable || e == eSegmentList {
		p, l := splitName(n)
		return string(l) == "href" && len(p) > 0 && r.lookup(p) == nsXlink
	}
	return false
}

// attrURL decides one URL attribute of the element at frame top, and
// records its insertion when it gets the parameter.
func (r *Rewriter) attrURL(raw []byte, base, top int, template bool) {
	dec, ok := r.decode(raw, true)
	if !ok {
		return
	}
	needID := false
	if template {
		if ok, needID = templateOK(dec); !ok {
			return
		}
	}
	kind := r.judge(raw, dec)
	switch {
	case kind == Ours:
	case kind == Relative && r.chainSafe(top):
		// Segment information after the Representations that inherit it
		// (out of schema order) resolves against their BaseURLs too.
		if r.frames[top].elem.family() && r.frames[r.owner(top)].unsafeBelow {
			return
		}
	default:
		return
	}
	if needID {
		// The id of the Representation the template serves decides its
		// host: that Representation's own, when it is open, or every one
		// yet to come below the template's owner.
		if r.rep > 0 {
			if !r.idOK(dec, r.repID) {
				return
			}
		} else if !r.addPending(dec, top) {
			return
		}
	}
	at, suf, ok := r.insertion(raw, dec)
	if !ok {
		return
	}
	r.ins = append(r.ins, ins{at: base + at, suf: suf})
	if kind == Relative {
		r.depend(top)
		if r.frames[top].elem.family() {
			r.frames[r.owner(top)].inherit = true
		}
	}
}

// appendRewritten appends raw (an element's text) with the parameter,
// reporting false (and appending nothing) when it cannot take it.
func (r *Rewriter) appendRewritten(out, raw []byte, attr bool) ([]byte, bool) {
	dec, ok := r.decode(raw, attr)
	if !ok {
		return out, false
	}
	at, suf, ok := r.insertion(raw, dec)
	if !ok {
		return out, false
	}
	out = append(out, raw[:at]...)
	out = append(out, suf...)
	return append(out, raw[at:]...), true
}

// insertion finds where in raw the parameter goes: after the URL's last
// byte, before a fragment and trailing white space, and which separator
// it takes. Empty values and bare fragments (the base itself) get none.
func (r *Rewriter) insertion(raw, dec []byte) (int, []byte, bool) {
	e := len(dec)
	for e > 0 && dec[e-1] <= ' ' {
		e--
	}
	s := 0
	for s < e && dec[s] <= ' ' {
		s++
	}
	if s == e || dec[s] == '#' {
		return 0, nil, false
	}
	k := e
	if h := bytes.IndexByte(dec[s:e], '#'); h >= 0 {
		k = s + h
	}
	suf := r.sufQ
	if bytes.IndexByte(dec[s:k], '?') >= 0 {
		suf = r.sufA
		if c := dec[k-1]; c == '?' || c == '&' {
			suf = r.sufN
		}
	}
	at := len(raw)
	if k < len(dec) {
		at = int(r.pos[k])
	}
	return at, suf, true
}

func splitName(n []byte) (prefix, local []byte) {
	if i := bytes.IndexByte(n, ':'); i >= 0 {
		return n[:i], n[i+1:]
	}
	return nil, n
}

// lookup resolves a prefix ("" for the default namespace) in scope.
func (r *Rewriter) lookup(prefix []byte) nsKind {
	for i := len(r.binds) - 1; i >= 0; i-- {
		b := r.binds[i]
		if bytes.Equal(r.nsText[b.pStart:b.pEnd], prefix) {
			if len(prefix) > 0 && b.ns == nsNone {
				return nsUnbound // xmlns:p="" is not allowed in XML 1.0
			}
			return b.ns
		}
	}
	switch {
	case len(prefix) == 0:
		return nsNone
	case string(prefix) == "xml":
		return nsXML
	}
	return nsUnbound
}

// parseTag splits a start tag into its name and attributes (r.attrs). It
// accepts what XML accepts, and a little more in names, which pass
// unchanged; quoting and white space are as XML has them.
func (r *Rewriter) parseTag(tok []byte) (nameEnd int, selfClose bool, err error) {
	r.attrs = r.attrs[:0]
	end := len(tok) - 1 // the '>'
	if tok[end-1] == '/' {
		selfClose = true
		end--
	}
	i := 1
	for i < end && isNameByte(tok[i]) {
		i++
	}
	if i == 1 {
		return 0, false, ErrMalformed
	}
	nameEnd = i
	for i < end {
		if !isSpace(tok[i]) {
			return 0, false, ErrMalformed
		}
		for i < end && isSpace(tok[i]) {
			i++
		}
		if i == end {
			break
		}
		var a attr
		a.nameStart = i
		for i < end && isNameByte(tok[i]) {
			i++
		}
		a.nameEnd = i
		if a.nameEnd == a.nameStart {
			return 0, false, ErrMalformed
		}
		for i < end && isSpace(tok[i]) {
			i++
		}
		if i == end || tok[i] != '=' {
			return 0, false, ErrMalformed
		}
		i++
		for i < end && isSpace(tok[i]) {
			i++
		}
		if i == end || tok[i] != '"' && tok[i] != '\'' {
			return 0, false, ErrMalformed
		}
		q := tok[i]
		j := bytes.IndexByte(tok[i+1:end], q)
		if j < 0 {
			return 0, false, ErrMalformed
		}
		a.valStart, a.valEnd = i+1, i+1+j
		r.attrs = append(r.attrs, a)
		i = a.valEnd + 1
	}
	return nameEnd, selfClose, nil
}

func isNameByte(c byte) bool {
	return !isSpace(c) && c != '/' && c != '>' && c != '=' && c != '"' && c != '\'' && c != '<' && c != '&'
}

// decode XML-decodes a value into r.dec, with r.pos mapping each decoded
// byte to where its source starts in raw. Text has its line ends
// normalised as XML does it. It reports false for anything odd: an unknown
// or malformed reference, a character XML does not allow, a '<', a control
// character, and in an attribute a literal tab or line end (which XML
// normalises to a space but not every parser does).
func (r *Rewriter) decode(raw []byte, attr bool) ([]byte, bool) {
	r.dec, r.pos = r.dec[:0], r.pos[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		start := int32(i)
		switch {
		case c == '&':
			n, ok := reference(raw[i:])
			if !ok {
				return nil, false
			}
			var rb [utf8.UTFMax]byte
			rl := utf8.EncodeRune(rb[:], n.r)
			for _, x := range rb[:rl] {
				r.dec = append(r.dec, x)
				r.pos = append(r.pos, start)
			}
			i += n.len
			continue
		case c == '<':
			return nil, false
		case attr && (c == '\r' || c == '\n' || c == '\t'):
			// XML turns these into spaces, a parser that skips that
			// normalisation keeps them, and URL parsers drop them: a value
			// read two ways is left alone.
			return nil, false
		case c == '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			c = '\n'
		case c == '\n' || c == '\t':
		case c < ' ' || c == 0x7f:
			return nil, false
		}
		r.dec = append(r.dec, c)
		r.pos = append(r.pos, start)
		i++
	}
	return r.dec, true
}

type ref struct {
	r   rune
	len int
}

// reference reads the entity or character reference that starts b.
func reference(b []byte) (ref, bool) {
	semi := bytes.IndexByte(b, ';')
	if semi < 2 || semi > 12 {
		return ref{}, false
	}
	name := b[1:semi]
	switch string(name) {
	case "amp":
		return ref{'&', semi + 1}, true
	case "lt":
		return ref{'<', semi + 1}, true
	case "gt":
		return ref{'>', semi + 1}, true
	case "quot":
		return ref{'"', semi + 1}, true
	case "apos":
		return ref{'\'', semi + 1}, true
	}
	if name[0] != '#' || len(name) < 2 {
		return ref{}, false
	}
	digits, base := name[1:], rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return ref{}, false
	}
	var v rune
	for _, d := range digits {
		var x rune
		switch {
		case '0' <= d && d <= '9':
			x = rune(d - '0')
		case base == 16 && 'a' <= d && d <= 'f':
			x = rune(d-'a') + 10
		case base == 16 && 'A' <= d && d <= 'F':
			x = rune(d-'A') + 10
		default:
			return ref{}, false
		}
		v = v*base + x
		if v > 0x10FFFF {
			return ref{}, false
		}
	}
	switch {
	case v == 0x9 || v == 0xA || v == 0xD:
	case 0x20 <= v && v <= 0xD7FF, 0xE000 <= v && v <= 0xFFFD, 0x10000 <= v && v <= 0x10FFFF:
	default:
		return ref{}, false
	}
	return ref{v, semi + 1}, true
}
