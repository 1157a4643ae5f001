package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplaceSection keeps what RESULTS.md holds outside the markers and
// swaps only the section between them.
func TestReplaceSection(t *testing.T) {
	const begin, end = "<!-- x:begin -->", "<!-- x:end -->"
	section := begin + "\nNEW\n" + end + "\n"
	for _, tc := range []struct{ name, before, want, err string }{
		{"new file", "", Header + section, ""},
		{"no markers yet", "# R\n\nlatency\n", "# R\n\nlatency\n\n" + section, ""},
		{"no final newline", "# R", "# R\n\n" + section, ""},
		{"replace", "# R\n\n" + begin + "\nOLD\n" + end + "\n\n## Other\nkept\n", "# R\n\n" + section + "\n## Other\nkept\n", ""},
		{"one marker", "# R\n" + begin + "\nOLD\n", "", "out of order or one is missing"},
		{"out of order", end + "\n" + begin + "\n", "", "out of order or one is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "RESULTS.md")
			if tc.before != "" {
				if err := os.WriteFile(path, []byte(tc.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := ReplaceSection(path, begin, end, section)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestMachine(t *testing.T) {
	if m := Machine(); !strings.Contains(m, "cores") {
		t.Errorf("Machine() = %q", m)
	}
}
