// Package results holds what every benchmark program shares when it records
// its figures in benchmarks/RESULTS.md: a description of the machine, and
// the swap of one marked section of the file.
package results

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Machine describes the CPU, cores and memory this runs on.
func Machine() string {
	cpu := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]); len(f) >= 2 {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				mem = fmt.Sprintf(", %d GiB", (kb+1<<19)>>20)
			}
		}
	}
	return fmt.Sprintf("%s, %d cores%s", cpu, runtime.NumCPU(), mem)
}

// Header starts a RESULTS.md that does not exist yet.
const Header = "# Benchmark results\n\nEvery figure here names the command, the date and the machine that produced it.\n\n"

// ReplaceSection swaps the part of path from begin to end (both markers
// included, with the newline after end) for section, which carries its own
// markers. A file without the markers gets section appended; a missing file
// is created with Header first. Everything outside the markers is kept byte
// for byte. One marker without the other is an error.
func ReplaceSection(path, begin, end, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	i, j := bytes.Index(old, []byte(begin)), bytes.Index(old, []byte(end))
	var out []byte
	switch {
	case i >= 0 && j > i:
		out = slices.Concat(old[:i], []byte(section), bytes.TrimPrefix(old[j+len(end):], []byte("\n")))
	case i < 0 && j < 0 && len(old) == 0:
		out = []byte(Header + section)
	case i < 0 && j < 0:
		out = slices.Clone(old)
		if !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, '\n')
		}
		out = append(append(out, '\n'), section...)
	default:
		return errors.New(path + ": " + begin + " and " + end + " are out of order or one is missing; fix the file by hand")
	}
	return os.WriteFile(path, out, 0o644)
}
