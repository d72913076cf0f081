package commands

import "testing"

func TestMentioned(t *testing.T) {
	tests := []struct {
		word, id string
	}{
		{"<@U012AB3CD>", "U012AB3CD"},
		{"<@U012AB3CD|carol>", "U012AB3CD"},
		{"<@W012AB3CD>", "W012AB3CD"}, // Enterprise Grid
		{"<@carol>", "carol"},         // the shell
		{"<@carol.smith-2>", "carol.smith-2"},
		{"@carol", ""},
		{"carol", ""},
		{"<#C012AB3CD>", ""},
		{"<!here>", ""},
		{"<@>", ""},
		{"<@|carol>", ""},
		{"<@U1 U2>", ""},
		{"<@U1><@U2>", ""},
		{"<@U1", ""},
		{"&lt;@U1&gt;", ""},
	}
	for _, tc := range tests {
		id, ok := Mentioned(tc.word)
		if id != tc.id || ok != (tc.id != "") {
			t.Errorf("Mentioned(%q) = %q, %v; want %q", tc.word, id, ok, tc.id)
		}
	}
}
