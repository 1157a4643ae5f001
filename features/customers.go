package features

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// ReadCustomers calls fn with every customer profile of dir's
// customers.jsonl.gz, in file order (ascending id), each checked as the
// store's import checks it. fn receives a fresh profile it may keep. An
// error names the file and the line; an error from fn stops the reading and
// is returned, wrapped the same way.
func ReadCustomers(ctx context.Context, dir string, fn func(p *CustomerProfile) error) error {
	path := filepath.Join(dir, CustomersFile)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("features: customers: %w", err)
	}
	defer f.Close()
	if err := readCustomers(ctx, f, path, func(_ int, p *CustomerProfile) error { return fn(p) }); err != nil {
		return fmt.Errorf("features: %w", err)
	}
	return nil
}
