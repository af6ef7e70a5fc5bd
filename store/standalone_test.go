package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// module is the root module's path: the middleware's package.
const module = "github.com/privatevideo/privatevideo"

// TestStoresStandAlone pins that a store needs package store and nothing of
// the middleware: package store, the conformance suite and our two stores
// never import the root package, directly or not, and the stores import of
// this module nothing but package store, as a third party's store, which
// cannot import internal packages, does. (Tests may use the middleware.)
func TestStoresStandAlone(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list imports: %v", err)
	}
	for _, c := range []struct {
		dir     string // package directory, from store/; each store is a module of its own
		imports []string
	}{
		{dir: ".", imports: []string{module + "/internal/uuid"}},
		{dir: "./storetest", imports: []string{module + "/internal/uuid", module + "/store"}},
		{dir: "./redisstore", imports: []string{module + "/store"}},
		{dir: "./pgstore", imports: []string{module + "/store"}},
	} {
		list := func(args ...string) []string {
			cmd := exec.Command(goTool, append([]string{"list"}, args...)...)
			cmd.Dir = c.dir
			out, err := cmd.Output()
			if err != nil {
				var stderr string
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("go list %s in %s: %v\n%s", strings.Join(args, " "), c.dir, err, stderr)
			}
			return strings.Fields(string(out))
		}
		for _, dep := range list("-deps", ".") {
			if dep == module {
				t.Errorf("%s imports the root package %s", c.dir, module)
			}
		}
		var own []string
		for _, imp := range list("-f", `{{join .Imports " "}}`, ".") {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				own = append(own, imp)
			}
		}
		if strings.Join(own, " ") != strings.Join(c.imports, " ") {
			t.Errorf("%s imports %q of this module, want only %q", c.dir, own, c.imports)
		}
	}
}
