package features

import (
	"context"
	"errors"
	"fmt"
)

// ProfileStore finds offline customer profiles. BoltStore (embedded, the
// default) and Cached (a cache in front of any ProfileStore) implement it; a
// store on a server, such as Redis, only has to implement this one method for
// the callers to stay as they are.
//
// Contract:
//   - Profile returns a non-nil profile, or an error wrapping ErrNotFound for
//     an id it holds nothing for (a miss is not a failure: the caller answers
//     such a customer on the anonymous path), or another error when the store
//     cannot answer (context done, I/O, closed).
//   - It is safe for concurrent use.
//   - The returned profile may be shared with other callers (Cached hands the
//     same pointer to every hit): treat it as read-only.
type ProfileStore interface {
	Profile(ctx context.Context, customerID string) (*CustomerProfile, error)
}

// ErrClosed is wrapped by the errors of a store or cache used after Close.
var ErrClosed = errors.New("closed")

// The files of a features directory, as the trainer writes them
// (trainer.FeatureFiles; features cannot import trainer).
const (
	CatalogFile   = "catalog.jsonl"      // catalog.Catalog, JSON lines, id order
	ItemsFile     = "items.jsonl.gz"     // one ItemStats per line, catalog order, gzip (the co-purchase lists make it 6.7 MB as text)
	CustomersFile = "customers.jsonl.gz" // one CustomerProfile per line, gzip
)

// notFound is the error for a customer a store holds nothing for.
func notFound(id string) error {
	return fmt.Errorf("features: customer %q: %w", id, ErrNotFound)
}
