package dash_test

import (
	"fmt"
	"strings"

	"github.com/privatevideo/privatevideo/internal/dash"
)

func Example() {
	r := &dash.Rewriter{Param: "avh", Value: "SESSION", Classify: func(u string) dash.Kind {
		switch {
		case strings.HasPrefix(u, "https://media.example.com/"):
			return dash.Ours
		case strings.Contains(u, ":") || strings.HasPrefix(u, "//"):
			return dash.Foreign // a real Classify reads URLs as WHATWG does
		}
		return dash.Relative
	}}
	mpd := `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period>` +
		`<AdaptationSet><SegmentTemplate media="$RepresentationID$/$Number$.m4s" initialization="$RepresentationID$/init.mp4"/>` +
		`<Representation id="v1"/></AdaptationSet>` +
		`<AdaptationSet><BaseURL>https://cdn.example.net/a/</BaseURL><SegmentList><SegmentURL media="1.m4s"/></SegmentList></AdaptationSet>` +
		`</Period></MPD>`
	var out []byte
	var err error
	for _, piece := range []string{mpd[:50], mpd[50:]} { // as it streams
		if out, err = r.Write(out, []byte(piece)); err != nil {
			panic(err)
		}
	}
	if out, err = r.Close(out); err != nil {
		panic(err)
	}
	fmt.Println(dash.IsManifest([]byte(mpd)))
	fmt.Println(string(out))
	// Output:
	// true
	// <MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period><AdaptationSet><SegmentTemplate media="$RepresentationID$/$Number$.m4s?avh=SESSION" initialization="$RepresentationID$/init.mp4?avh=SESSION"/><Representation id="v1"/></AdaptationSet><AdaptationSet><BaseURL>https://cdn.example.net/a/</BaseURL><SegmentList><SegmentURL media="1.m4s"/></SegmentList></AdaptationSet></Period></MPD>
}
