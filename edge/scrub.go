package edge

import (
	"regexp"

	"github.com/privatevideo/privatevideo"
)

// uuidPattern matches anything shaped like a private token.
var uuidPattern = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// Scrub redacts token-shaped strings (privatevideo.RedactToken) from a
// message before it is logged: the errors of store drivers are not ours,
// and a key name or a statement in one could hold a token.
func Scrub(msg string) string {
	return uuidPattern.ReplaceAllStringFunc(msg, privatevideo.RedactToken)
}
