package app

import (
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The dependency rule (README, Architecture): data flows one way. Only the
// wiring (internal/app) imports the feature packages; the transports (bot,
// shell, webhooks) import the commands core, never a feature; a feature
// never imports another — what one needs of another is a small interface
// wired here.

const module = "github.com/devy-chatops/devy"

// features are the capability packages under commands/.
var features = []string{"commands/deploy", "commands/reviewapp", "commands/incident", "commands/notify", "commands/signals", "commands/stats", "commands/home"}

// transports are the ways in.
var transports = []string{"bot", "shell", "webhooks"}

// featureOf is the feature pkg is, or is a part of (a sub-package such as
// commands/deploy/verify); ok is false outside the features.
func featureOf(pkg string) (feature string, ok bool) {
	for _, f := range features {
		if pkg == f || strings.HasPrefix(pkg, f+"/") {
			return f, true
		}
	}
	return "", false
}

// importRule judges one import edge between two of the module's packages
// (paths relative to the module), and says what it breaks. A feature's
// sub-packages are its private parts: only the feature and its other parts
// import them, and they import no feature (their own included).
func importRule(from, to string) error {
	toFeature, ok := featureOf(to)
	if !ok || from == to {
		return nil
	}
	fromFeature, fromPart := featureOf(from)
	if to != toFeature {
		if fromPart && fromFeature == toFeature {
			return nil
		}
		return fmt.Errorf("%s imports %s, a part of feature %s: only %s and its own sub-packages import it", from, to, toFeature, toFeature)
	}
	switch {
	case from == "internal/app":
		return nil
	case fromPart && from == fromFeature:
		return fmt.Errorf("feature %s imports feature %s: declare a small interface in %s and wire it in internal/app", from, to, from)
	case fromPart:
		return fmt.Errorf("%s, a part of feature %s, imports feature %s: a feature's sub-packages import no feature", from, fromFeature, to)
	case slices.Contains(transports, from):
		return fmt.Errorf("transport %s imports feature %s: transports import only the commands core", from, to)
	}
	return fmt.Errorf("%s imports feature %s: only internal/app imports features", from, to)
}

func TestImportRule(t *testing.T) {
	tests := []struct {
		from, to string
		ok       bool
	}{
		{"internal/app", "commands/deploy", true},
		{"internal/app", "bot", true},
		{"commands/deploy", "commands", true},
		{"commands/deploy", "commands/format", true},
		{"commands/deploy", "store", true},
		{"commands/incident", "integrations/github", true},
		{"commands/deploy", "commands/deploy/verify", true},
		{"commands/deploy/diff", "commands/deploy/pipeline", true},
		{"commands/deploy/verify", "commands", true},
		{"commands/deploy/verify", "commands/format", true},
		{"commands/deploy/ghdeploy", "store", true},
		{"bot", "commands", true},
		{"webhooks", "commands", true},
		{"commands/incident", "commands/deploy", false},
		{"commands/notify", "commands/reviewapp", false},
		{"commands/stats", "commands/signals", false},
		{"bot", "commands/deploy", false},
		{"shell", "commands/notify", false},
		{"webhooks", "commands/notify", false},
		{"commands", "commands/deploy", false},
		{"store", "commands/incident", false},
		{"", "commands/stats", false}, // the root, main.go
		{"commands/deploy/verify", "commands/notify", false},
		{"commands/deploy/verify", "commands/deploy", false},
		{"commands/incident", "commands/deploy/verify", false},
		{"commands/deployx", "commands/deploy/verify", false}, // a name that merely starts alike
		{"internal/app", "commands/deploy/pipeline", false},
	}
	for _, tc := range tests {
		err := importRule(tc.from, tc.to)
		if (err == nil) != tc.ok {
			t.Errorf("%s → %s: %v; want allowed=%v", tc.from, tc.to, err, tc.ok)
		}
	}
}

// TestDependenciesFlowOneWay walks every package of the module and judges
// each of its (non-test) imports of another.
func TestDependenciesFlowOneWay(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the module root is not two folders up: %v", err)
	}
	edges := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		from, _ := filepath.Rel(root, path)
		from = filepath.ToSlash(from)
		if from == "." {
			from = ""
		}
		for _, imp := range pkg.Imports {
			to, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			edges++
			if err := importRule(from, to); err != nil {
				t.Error(err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if edges < 50 {
		t.Fatalf("only %d imports between the module's packages found; the walk missed packages", edges)
	}
}
