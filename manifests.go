package privatevideo

import (
	"strings"

	"github.com/privatevideo/privatevideo/internal/dash"
	"github.com/privatevideo/privatevideo/internal/hls"
	"github.com/privatevideo/privatevideo/internal/manifest"
)

// A player that keeps no cookie gets its manifests rewritten so that every
// URL it builds from them carries the session: HLS playlists
// (internal/hls) and DASH MPDs (internal/dash), streamed within bounds by
// internal/manifest. kind says which an answer is.
type kind uint8

const (
	notManifest kind = iota
	playlist         // HLS
	mpd              // MPEG-DASH
)

// kindByName is what an asset's name says it is.
func kindByName(asset string) kind {
	switch {
	case hasSuffixFold(asset, ".m3u8"):
		return playlist
	case hasSuffixFold(asset, ".mpd"):
		return mpd
	}
	return notManifest
}

// kindOf is what an answer is, by its Content-Type, else by its name when
// the type does not plainly say media.
func kindOf(contentType string, byName kind) kind {
	ct := strings.ToLower(contentType)
	switch {
	case strings.Contains(ct, "mpegurl"):
		return playlist
	case strings.Contains(ct, "dash+xml"):
		return mpd
	case strings.HasPrefix(ct, "video/") || strings.HasPrefix(ct, "audio/") || strings.HasPrefix(ct, "image/"):
		return notManifest
	}
	return byName
}

// mpdRewriter is a dash.Rewriter as manifest.Writer drives it.
type mpdRewriter struct{ dash.Rewriter }

// mpdSniffLen is how much of a body tells whether it is an MPD: room for
// a byte order mark, the XML declaration and a comment or two.
const mpdSniffLen = 1024

func (*mpdRewriter) SniffLen() int          { return mpdSniffLen }
func (*mpdRewriter) Sniff(head []byte) bool { return dash.IsManifest(head) }

// newMPDRewriter carries the session of an HLS rewriter's settings
// through an MPD, with the same host rule.
func newMPDRewriter(h *hls.Rewriter) *mpdRewriter {
	hosts := h.Hosts
	return &mpdRewriter{dash.Rewriter{
		Param: h.Param,
		Value: h.Value,
		Classify: func(u string) dash.Kind {
			switch hosts.Classify([]byte(u)) {
			case manifest.Relative:
				return dash.Relative
			case manifest.Ours:
				return dash.Ours
			}
			return dash.Foreign
		},
	}}
}
