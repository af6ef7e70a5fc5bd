// Package dash carries a session parameter through MPEG-DASH manifests
// (MPD, ISO/IEC 23009-1), as the root package's HLS rewriter does through
// playlists: a player that keeps no cookie gets an MPD in which every URL it
// will fetch from our host carries Param=Value, and no URL that leads
// elsewhere does.
//
// # What is rewritten
//
// In elements of the DASH namespace (urn:mpeg:dash:schema:mpd:2011) or of
// no namespace (real MPDs sometimes omit it), matched by local name:
//
//   - the text of BaseURL (at any level, alternatives included), of
//     Location (a child of the root) and of PatchLocation;
//   - SegmentTemplate@media, @initialization, @index and
//     @bitstreamSwitching, which are templates;
//   - SegmentURL@media and @index; Initialization@sourceURL,
//     RepresentationIndex@sourceURL and BitstreamSwitching@sourceURL;
//   - xlink:href (any prefix bound to http://www.w3.org/1999/xlink) on
//     Period, AdaptationSet, EventStream and SegmentList.
//
// Classify judges each URL, XML-decoded (character and entity references
// decoded): Ours (absolute or scheme-relative, naming
// our host) gets the parameter; Relative gets it only when its BaseURL
// chain is ours; Foreign never does. The chain of a URL is the BaseURL
// alternatives of its element and of every enclosing element, innermost
// first, up to and including the innermost level whose alternatives are
// all absolute (and ours); the Location elements, which Shaka resolves the
// MPD's BaseURLs against, are the outermost level, and the MPD's own URL is
// ours. A level is ours only when every one of its alternatives is Relative
// or Ours. A BaseURL alternative resolves against the levels above its own.
// An xml:base attribute counts as an alternative of its element.
//
// The parameter is appended as "?P=V", or "&P=V" when the URL already has a
// query ("P=V" after a trailing '?' or '&'), before any fragment and any
// trailing white space, written XML-escaped. Every other byte of the
// document passes unchanged: quoting, entities, comments, processing
// instructions, CDATA, DOCTYPE, white space, prefixes, unknown elements and
// attributes. Empty URLs and bare fragments, which name their base, are
// left as they are.
//
// # Templates
//
// A template takes the parameter only when it is well-formed ($$ or a known
// identifier, $Number%05d$ style widths on the numeric ones) and when no
// identifier can move its host. $Number$, $Time$, $Bandwidth$ and
// $SubNumber$ are digits: they may not stand in an authority. A
// $RepresentationID$ is any string: where it stands before the host is
// settled ("$RepresentationID$/$Number$.m4s"; but not "v/$RepresentationID$",
// nor ffmpeg's "chunk-stream$RepresentationID$", which no id can turn into a
// network scheme), the template is rewritten only when the id of every
// Representation that uses it, substituted, leaves it Relative or Ours: at
// once for a template inside a Representation, else against each
// Representation still to come below the template's owner. Such templates
// are kept, at most MaxConstruct bytes of them, until their owner closes;
// a Representation whose id would move one fails the document with
// ErrRepresentationID. Param and Value are URL-safe characters only
// ([A-Za-z0-9._~=-]), so the appended text never holds a '$'.
//
// # What is left out, and why
//
//   - ContentProtection license URLs (dashif:Laurl, ms:laurl, clearkey):
//     license servers are their own services, usually elsewhere, with their
//     own authorization; the session is not theirs.
//   - UTCTiming@value: a time source needs no session, and is usually a
//     public server.
//   - ProgramInformation@moreInformationURL, Event payloads, DVB metrics
//     Reporting URLs: players do not fetch media from them.
//   - xlink:href on other elements, and the remote elements xlink brings
//     in: those are fragments, not MPDs, and are not rewritten here (they
//     lack the session: the player is refused, which is safe). Since remote
//     content may bring BaseURLs and Representation ids of its own, segment
//     information that a remote Period or AdaptationSet would inherit is
//     not rewritten after it, and fails the document (ErrLateBase) when it
//     was rewritten before it.
//   - MPD patches (the documents PatchLocation names) are not MPDs either.
//     A patch can add a BaseURL to a rewritten MPD; it is served by our
//     origin like the MPD itself.
//
// # Fail closed
//
// A value that is not plain (a reference that is not one of XML's own or a
// character reference to an XML character, a control character, CDATA, a
// comment or a child inside a URL element's text, a literal tab or line end
// in an attribute, which XML turns into a space but not every parser does)
// is left unrewritten, and when it is a BaseURL, a Location or an xml:base
// it counts as Foreign. A value with references is judged both decoded and
// as written, and the worse reading wins (Foreign, then Relative). A
// BaseURL with @byteRange (Annex E: requests built by a template of its
// own) counts as Foreign. A BaseURL, Location or Representation in another
// namespace still counts (for the chain, for ids), since a player may read
// it, but is not rewritten. Segment information that comes after the
// Representations it applies to (out of schema order) is not rewritten
// when one of them had a level not ours, nor when it needs their ids. An
// XML declaration naming an encoding other than UTF-8, ASCII or Latin-1 is
// refused (ErrUnsupported): the scanner reads bytes as ASCII.
//
// A stream cannot be taken back: when a BaseURL or Location that makes a
// level unsafe comes after a rewritten relative URL that resolves through
// it (the schema puts BaseURL first, but documents need not follow it), or
// below the owner of rewritten segment information (which Representations
// inherit), Write fails with ErrLateBase. Write fails with ErrUnsupported on
// UrlQueryInfo, ExtUrlQueryInfo and ExtHttpHeaderInfo (Annex I: the player
// copies the MPD URL's query, where a cookie-less player carries the
// session, onto segment URLs and headers to any host) and on
// ContentSteering (a steering server may clone BaseURLs, query and all,
// onto other hosts). A DOCTYPE with an internal subset (ENTITY and
// ATTLIST declarations give entities and default attributes, and parsers
// disagree on where a subset ends) or an external ID fails with
// ErrDoctype; a bare <!DOCTYPE MPD> passes.
//
// # Bounds
//
// Write hands on the output as soon as it is complete. Between calls it
// holds one unfinished construct (tag, comment, CDATA, processing
// instruction, DOCTYPE: at most MaxConstruct, 64 KiB; its scan resumes
// where it stopped, so a construct written a byte at a time costs O(n)), the
// text of one URL element (MaxConstruct) and the templates waiting for
// Representation ids (4 KiB; more are left unrewritten): under 256 KiB,
// plus the last Write's input, whatever the document's size, as the HLS
// rewriter. Other text streams through. Nesting is bounded by MaxDepth
// (64), the alternatives of one level by MaxBaseURLs (64), the namespace
// declarations in scope by MaxNamespaces (256). A
// document that breaks a bound, is not well-formed where the rewriter reads
// it (a tag, an end tag that does not match), or ends inside a construct or
// an element, fails: the caller must then not deliver it as whole. Errors
// do not depend on where the input was cut.
package dash
