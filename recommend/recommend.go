// Package recommend is the recommendation flow behind POST
// /v1/recommendations: it gathers candidates from the collaborative-filtering
// model, the customer's own purchases and popular items, re-ranks them with
// the propensity model in one batch, blends, filters and explains them, and
// falls back to deterministic rules when a model is slow, failing or unsure.
// The HTTP handler and the offline evaluation both call Service.Recommend.
//
// The items a customer viewed or carted in the conversation (Request.Session)
// enter the interaction vector at once (session.go). Service.Rank (rank.go)
// puts a caller's own list of items in the customer's order with the same
// pieces, for POST /v1/rank.
package recommend

import (
	"context"

	"github.com/tailorhq/tailor/features"
)

// Mode says what kind of answer the caller wants.
type Mode string

// The modes.
const (
	ModeAuto     Mode = "auto"      // re-buys and discoveries, blended
	ModeBuyAgain Mode = "buy_again" // only items the customer bought before
	ModeDiscover Mode = "discover"  // never an item the customer bought before
)

// Request is one question from a chatbot.
type Request struct {
	UserID    string            `json:"user_id,omitempty"` // empty for an anonymous session
	SessionID string            `json:"session_id,omitempty"`
	K         int               `json:"k,omitempty"`    // 1..100, default 10
	Mode      Mode              `json:"mode,omitempty"` // default auto
	Context   map[string]string `json:"context,omitempty"`
	Session   []SessionItem     `json:"-"` // context.session_items on the wire
	Filters   Filters           `json:"filters,omitempty"`
	Diversity Diversity         `json:"diversity,omitempty"`
	Explain   bool              `json:"explain,omitempty"`
}

// MaxSessionItems is the most session items a request may carry.
const MaxSessionItems = 50

// SessionItem is one thing the customer did with an item in this
// conversation; a request's session items come oldest first. They enter the
// interaction vector at once (see session.go); an id not in the catalog is
// ignored.
type SessionItem struct {
	ItemID string `json:"item_id"`
	Event  Event  `json:"event"`
}

// Event is what the customer did with a session item.
type Event string

// The session events, weakest signal first.
const (
	EventView     Event = "view"
	EventCart     Event = "cart"
	EventPurchase Event = "purchase"
)

// Events lists the session events, in the order of the constants.
func Events() []Event { return []Event{EventView, EventCart, EventPurchase} }

// Filters narrow the answer. They restrict the candidates of every path (the
// models, the CF-only blend and the rule chain) before the list is cut to k.
// An item passes when it passes every filter that is set.
type Filters struct {
	Exclude    []string `json:"exclude,omitempty"`    // item ids never to return; unknown ids are ignored
	MinPrice   *float64 `json:"min_price,omitempty"`  // GBP, inclusive
	MaxPrice   *float64 `json:"max_price,omitempty"`  // GBP, inclusive
	Categories []string `json:"categories,omitempty"` // only these categories
	// InStockOnly drops items the catalog marks out of stock. Nil means
	// true: a customer should not be offered what the shop cannot sell.
	InStockOnly *bool `json:"in_stock_only,omitempty"`
}

// Diversity shapes the top k.
type Diversity struct {
	// MaxPerCategory caps the items of any one category in the answer. The
	// cut to k walks the ranking and passes over an item whose category is
	// full, so the answer still has k items when enough candidates exist.
	// Zero, or a cap of k or more, changes nothing.
	MaxPerCategory int `json:"max_per_category,omitempty"`
}

// Item is one recommended product.
type Item struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Price    float64  `json:"price"`
	Category string   `json:"category"`
	InStock  bool     `json:"in_stock"`
	Score    float64  `json:"score"`
	Rank     int      `json:"rank"`
	Source   string   `json:"source"`  // a model name@version or a named fallback rule
	Reasons  []string `json:"reasons"` // why, in words a chatbot can show
}

// Response is the answer.
type Response struct {
	Items          []Item   `json:"items"`
	Models         []string `json:"models"` // name@version of every model that answered
	Degraded       bool     `json:"degraded"`
	FallbackReason string   `json:"fallback_reason,omitempty"`
	// IgnoredSessionItems are the session item ids not in the catalog, each
	// once, which could not count; absent when there are none.
	IgnoredSessionItems []string `json:"ignored_session_items,omitempty"`
}

// CF is the collaborative-filtering model as the flow uses it.
type CF interface {
	// Score returns one score per vocabulary item for the interaction vector x.
	Score(ctx context.Context, x []float32) ([]float32, error)
	NameVersion() string
}

// Propensity is the purchase-propensity model as the flow uses it.
type Propensity interface {
	// Predict returns n probabilities for n rows of features (row-major, in
	// FeatureNames order).
	Predict(ctx context.Context, rows []float32, n int) ([]float32, error)
	FeatureNames() []string
	NameVersion() string
}

// Profiles finds offline customer profiles.
type Profiles interface {
	// Profile returns the customer's profile, or an error wrapping
	// features.ErrNotFound for a customer it has none for: the flow answers
	// such a customer on the anonymous path.
	Profile(ctx context.Context, customerID string) (*features.CustomerProfile, error)
}

// Breaker runs one model call under a circuit breaker and a deadline.
type Breaker interface {
	Do(ctx context.Context, fn func(ctx context.Context) error) error
}
