package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReplaceSection keeps what RESULTS.md holds outside the quality
// markers and swaps only the section between them.
func TestReplaceSection(t *testing.T) {
	section := beginMarker + "\nNEW\n" + endMarker + "\n"
	for _, tc := range []struct{ name, before, want string }{
		{"new file", "", "# Benchmark results\n\nEvery figure here names the command, the date and the machine that produced it.\n\n" + section},
		{"no markers yet", "# R\n\nlatency\n", "# R\n\nlatency\n\n" + section},
		{"replace", "# R\n\n" + beginMarker + "\nOLD\n" + endMarker + "\n\n## Latency\nkept\n", "# R\n\n" + section + "\n## Latency\nkept\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "RESULTS.md")
			if tc.before != "" {
				if err := os.WriteFile(path, []byte(tc.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := replaceSection(path, section); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
