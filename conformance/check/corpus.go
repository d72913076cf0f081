// Package check holds the rules of the conformance suite: Devy's requests to
// Heroku and Slack checked against what the vendors publish (Heroku's
// Platform API hyper-schema, Slack's Web API OpenAPI spec, Block Kit's
// documented limits). It reads the vendor material in place, from the
// shared/conformance folder next to the repository (see its MANIFEST.md),
// and never copies it into the project.
//
// Nothing here imports Devy's own packages: the suite judges the built
// binary from the outside, so it keeps working while Devy's insides move.
package check

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// CorpusDir is where the vendor material lives, relative to a folder that
// holds it: shared/conformance sits next to the repository clone.
const CorpusDir = "shared/conformance"

// FindCorpus walks up from the working directory (a test's package folder)
// until a folder holds shared/conformance, and returns that path.
func FindCorpus() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding %s: %w", CorpusDir, err)
	}
	for {
		p := filepath.Join(dir, CorpusDir)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in any parent folder of the package", CorpusDir)
		}
		dir = parent
	}
}

// Corpus returns the vendor material's folder. Where it is absent the test
// is skipped with the reason, except in CI (CI=true), where a missing folder
// would silently turn the whole suite off: there it fails.
func Corpus(t testing.TB) string {
	t.Helper()
	dir, err := FindCorpus()
	if err == nil {
		return dir
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("conformance: %v; CI=true needs it (the vendor material is a sibling of the repository clone)", err)
	}
	t.Skipf("conformance: %v; skipping (put the vendor material at ../shared/conformance to run this)", err)
	return ""
}

// Violation is one rule a request broke: the spec file that states the
// rule, the rule, and what was seen.
type Violation struct {
	File string // the spec, relative to shared/conformance, or the documentation page for Block Kit limits
	Rule string
	Got  string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: %s (%s)", v.File, v.Rule, v.Got)
}
