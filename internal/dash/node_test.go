package dash

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeCase is one URL that carries the session, with the BaseURL
// alternatives of every level it resolves through, outermost first.
type nodeCase struct {
	URL    string     `json:"url"`
	Levels [][]string `json:"levels"`
	Where  string     `json:"where"`
}

// TestResolvedHostsAgainstNode resolves every URL that got the session, in
// the documents of these tests, through every combination of its BaseURL
// alternatives (and the Representation ids of templates) with Node's
// WHATWG URL, as dash.js and Shaka do: each must land on our host.
func TestResolvedHostsAgainstNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("PRIVATEVIDEO_REQUIRE_TOOLS") != "" {
			t.Fatal("node is required")
		}
		t.Skip("no node")
	}
	var docs [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "*.mpd"))
	for _, name := range files {
		doc, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	docs = append(docs, []byte(realisticMPD()))
	for _, s := range []string{"//evil.example/x", `\\evil.example\x`, "HTTPS://EVIL.EXAMPLE/", "&#104;ttps://evil.example/", "https:/evil.example/", "rel/"} {
		docs = append(docs,
			[]byte(mpd(`<BaseURL>`+s+`</BaseURL><Period><BaseURL>p/</BaseURL><AdaptationSet><SegmentTemplate media="$RepresentationID$/$Number$.m4s"/><Representation id="v1"><BaseURL>r/</BaseURL></Representation><Representation id="v2"/></AdaptationSet></Period>`)),
			[]byte(mpd(`<BaseURL>https://media.example.com/a/</BaseURL><BaseURL>`+s+`</BaseURL><Period><SegmentList><SegmentURL media="1.m4s"/></SegmentList></Period>`)),
			[]byte(mpd(`<Location>`+s+`</Location><Period><SegmentURL media="x"/><SegmentURL media="https://media.example.com/y"/></Period>`)),
		)
	}
	var cases []nodeCase
	for _, doc := range docs {
		out, err := oneShot(doc)
		if err != nil {
			t.Fatalf("%v: %.80s", err, doc)
		}
		root, _, err := parse(out)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, nodeCases(root)...)
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	// A sentinel that must be reported, so that the check can fail.
	cases = append(cases, nodeCase{URL: "x", Levels: [][]string{nil, {"https://media.example.com/", "//evil.example/"}}, Where: "sentinel"})
	in, _ := json.Marshal(cases)
	cmd := exec.Command(node, "-e", nodeResolver)
	cmd.Stdin = bytes.NewReader(in)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, res)
	}
	sentinel := false
	for _, line := range strings.Split(strings.TrimSpace(string(res)), "\n") {
		switch {
		case strings.Contains(line, " at sentinel "):
			sentinel = true
		case line != "" && !strings.HasPrefix(line, "checked "):
			t.Error(line)
		}
	}
	if !sentinel {
		t.Error("the sentinel leak was not reported")
	}
	t.Logf("%s", bytes.TrimSpace(res))
}

// nodeResolver reads nodeCases, resolves each through every combination of
// alternatives (the MPD served from our host), and prints those that land
// elsewhere.
const nodeResolver = `
let s = ''; process.stdin.on('data', d => s += d).on('end', () => {
  const cases = JSON.parse(s); let n = 0;
  const mpd = 'https://media.example.com/vod/v1/dash/manifest.mpd';
  for (const c of cases) { c.levels = c.levels || [];
    let bases = [mpd];
    for (const level of c.levels) {
      if (!level || level.length === 0) continue;
      const next = [];
      for (const b of bases) for (const alt of level) {
        try { next.push(new URL(alt, b).href) } catch (e) { next.push('invalid:') }
      }
      bases = next.slice(0, 256);
    }
    for (const b of bases) {
      n++;
      let u; try { u = new URL(c.url, b) } catch (e) { continue }
      if (u.hostname !== 'media.example.com') console.log('leak: ' + JSON.stringify(c.url) + ' at ' + c.where + ' resolves through ' + b + ' to ' + u.href);
    }
  }
  console.log('checked ' + n + ' resolutions of ' + cases.length + ' URLs');
});`

// nodeCases lists the values of the tree that carry the session, with
// their levels of alternatives.
func nodeCases(root *node) []nodeCase {
	var cases []nodeCase
	levelsTo := func(n *node) [][]string {
		var path []*node
		for m := n; m != nil && m.parent != nil; m = m.parent {
			path = append([]*node{m}, path...)
		}
		var levels [][]string
		var locs []string
		for _, top := range root.children {
			for _, c := range top.children {
				if local(c.name) == "Location" {
					locs = append(locs, strings.Join(c.text, ""))
				}
			}
		}
		levels = append(levels, locs)
		for _, m := range path {
			var alts []string
			for _, a := range m.attrs {
				if a.Name.Space == "xml" && a.Name.Local == "base" {
					alts = append(alts, a.Value)
				}
			}
			for _, c := range m.children {
				if local(c.name) == "BaseURL" {
					alts = append(alts, strings.Join(c.text, ""))
				}
			}
			levels = append(levels, alts)
		}
		return levels
	}
	subst := func(tpl, id string) string {
		u := strings.ReplaceAll(tpl, "$RepresentationID$", id)
		for _, x := range []string{"$Number$", "$Time$", "$Bandwidth$", "$SubNumber$", "$Number%05d$"} {
			u = strings.ReplaceAll(u, x, "7")
		}
		return strings.ReplaceAll(u, "$$", "$")
	}
	var walk func(n *node)
	walk = func(n *node) {
		if n.parent != nil {
			name := local(n.name)
			for _, a := range n.attrs {
				if !strings.Contains(a.Value, testV) {
					continue
				}
				if !family[name] {
					cases = append(cases, nodeCase{URL: a.Value, Levels: levelsTo(n), Where: name})
					continue
				}
				// Segment information: for every Representation that may
				// use it, through that Representation's chain.
				owner := n
				for owner.parent != nil && family[local(owner.name)] {
					owner = owner.parent
				}
				var reps []*node
				var below func(m *node)
				below = func(m *node) {
					if local(m.name) == "Representation" {
						reps = append(reps, m)
					}
					for _, c := range m.children {
						below(c)
					}
				}
				if local(owner.name) == "Representation" {
					reps = []*node{owner}
				} else {
					below(owner)
				}
				if len(reps) == 0 {
					cases = append(cases, nodeCase{URL: subst(a.Value, "x"), Levels: levelsTo(n), Where: name})
				}
				for _, rep := range reps {
					id := ""
					for _, ra := range rep.attrs {
						if ra.Name.Local == "id" && ra.Name.Space == "" {
							id = ra.Value
						}
					}
					cases = append(cases, nodeCase{URL: subst(a.Value, id), Levels: levelsTo(rep), Where: name + " for " + id})
				}
			}
			if t := strings.Join(n.text, ""); strings.Contains(t, testV) {
				from := n.parent
				if from.parent != nil {
					from = from.parent
				}
				levels := levelsTo(from)
				if name == "Location" {
					levels = nil
				}
				cases = append(cases, nodeCase{URL: t, Levels: levels, Where: name})
			}
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(root)
	return cases
}
