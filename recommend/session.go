package recommend

import (
	"context"
	"slices"
	"strings"

	"github.com/tailorhq/tailor/cf"
	"github.com/tailorhq/tailor/telemetry"
	"go.opentelemetry.io/otel/trace"
)

// Session items are what the customer viewed, carted or bought in this
// conversation (Request.Session, context.session_items on the wire). They change the answer at
// once, without retraining, because the CF model maps an interaction vector
// to scores:
//
//   - Weights. An entry of the interaction vector is cf.Weight(n) = log1p(n),
//     n being the customer's invoices with the item. A session event adds to
//     n: a view 0.5, a cart 1, a purchase 1, so a carted item weighs what one
//     past purchase weighs and a view half of that (before the log). For a
//     known customer the session adds to the item's own count: an item bought
//     on 3 invoices and carted now enters as cf.Weight(4). Repeated events on
//     one item add up. Ids not in the catalog are ignored: the answer lists
//     them (ignored_session_items) and the request's span counts their
//     events (tailor.session.unknown). Only the latest MaxSessionItems
//     events are read.
//   - Who gets the models. A customer with no profile but with at least one
//     known session item is not sent to the anonymous fallback: the CF model
//     runs on the session vector, the propensity model re-ranks the
//     candidates with the customer features at their defaults, and the items
//     are sourced to the model. The uncertainty gate counts the distinct
//     session items beside the purchased ones as history. When the profile
//     store failed, a session still drives the models, and the answer is
//     labelled degraded (profile_store_unavailable), since the purchase
//     history was not used.
//   - What is not returned. Items carted or bought in this session are never
//     recommended: they are in the basket, or just bought. Viewed items are
//     not recommended either (the customer has seen them), except in
//     buy_again mode, where a viewed item the customer bought before stays a
//     candidate. Service.Rank ranks whatever the caller supplies, session
//     items included.
//   - Reasons. An item the CF model put forward says it comes from the
//     session: "Customers who bought what you viewed also bought this".

// sessionCount is what one event adds to an item's invoice count.
func sessionCount(e Event) float32 {
	switch e {
	case EventView:
		return 0.5
	case EventCart, EventPurchase:
		return 1
	}
	return 0
}

// session is the request's session items that are in the catalog, one
// entry per item, in the order first seen.
type session struct {
	items   []sessionItem
	unknown int      // events whose id is not in the catalog
	ignored []string // those ids, each once, in the order first seen
	events  byte     // the events seen, as a bit set (1<<iota in Events order)
}

type sessionItem struct {
	j      int     // vocabulary index
	count  float32 // summed sessionCount
	events byte    // the events seen for it, as a bit set
}

// The bits of the event sets.
const (
	seenView byte = 1 << iota
	seenCart
	seenPurchase
	inBasket = seenCart | seenPurchase // carted or bought in this session
)

func eventBit(e Event) byte {
	switch e {
	case EventView:
		return seenView
	case EventCart:
		return seenCart
	case EventPurchase:
		return seenPurchase
	}
	return 0
}

// readSession reads the request's session items into r.sess and records
// how many were used and ignored on the request's span.
func (r *run) readSession(ctx context.Context) {
	in := r.req.Session
	if len(in) == 0 {
		return
	}
	in = in[max(0, len(in)-MaxSessionItems):]
	s := &r.sess
	for _, it := range in {
		j, ok := r.s.deps.Items.Index(it.ItemID)
		w := sessionCount(it.Event)
		if !ok || w == 0 {
			s.unknown++
			if !ok && !slices.Contains(s.ignored, it.ItemID) {
				s.ignored = append(s.ignored, it.ItemID)
			}
			continue
		}
		i := 0
		for i < len(s.items) && s.items[i].j != j {
			i++
		}
		if i == len(s.items) {
			s.items = append(s.items, sessionItem{j: j})
		}
		s.items[i].count += w
		s.items[i].events |= eventBit(it.Event)
		s.events |= eventBit(it.Event)
	}
	trace.SpanFromContext(ctx).SetAttributes(telemetry.AttrSessionItems.Int(len(s.items)), telemetry.AttrSessionUnknown.Int(s.unknown))
}

// useSession reads the session items and rules out of the answer those
// that must not be recommended (see above). It runs after buildSkip, whose
// mask r.skip reads.
func (r *run) useSession(ctx context.Context) {
	r.readSession(ctx)
	for _, e := range r.sess.items {
		if e.events&inBasket != 0 || r.req.Mode != ModeBuyAgain {
			r.sc.mask[e.j] = true
		}
	}
}

// historyItems is what the uncertainty gate counts as history: the distinct
// items the customer bought and those of the session they did not buy.
func (r *run) historyItems() int {
	n := len(r.bought)
	for _, e := range r.sess.items {
		if r.owned[e.j] == nil {
			n++
		}
	}
	return n
}

// addSession adds the session's weights to the interaction vector x, which
// already holds the customer's purchases.
func (r *run) addSession(x []float32) {
	for _, e := range r.sess.items {
		n := e.count
		if h := r.owned[e.j]; h != nil {
			n += float32(h.Invoices)
		}
		x[e.j] = cf.Weight(n)
	}
}

// missingProfile is how a model answer is labelled when the profile store
// failed and only the session drove the models.
func (r *run) missingProfile() (degraded bool, reason string) {
	if r.noProf == ReasonProfileStore {
		return true, ReasonProfileStore
	}
	return false, ""
}

// cfReason explains an item the CF model put forward.
func (r *run) cfReason() string {
	if len(r.sess.items) == 0 {
		return "Often bought by customers whose baskets look like yours"
	}
	what := "what you " + r.sessionVerbs()
	if r.prof != nil {
		what += " and what you bought before"
	}
	return "Customers who bought " + what + " also bought this"
}

// sessionVerbs says what the customer did in this session: "viewed",
// "viewed or put in your basket", ...
func (r *run) sessionVerbs() string {
	var verbs []string
	if r.sess.events&seenView != 0 {
		verbs = append(verbs, "viewed")
	}
	if r.sess.events&seenCart != 0 {
		verbs = append(verbs, "put in your basket")
	}
	if r.sess.events&seenPurchase != 0 {
		verbs = append(verbs, "just bought")
	}
	return strings.Join(verbs, " or ")
}

// sessionReason says how an item relates to the session: the item itself
// (possible in buy_again mode and in Rank), or its category, shared with a
// session item, for a customer without a profile. Empty when it does not.
func (r *run) sessionReason(j int) string {
	items := r.s.deps.Items
	for _, e := range r.sess.items {
		switch {
		case e.j != j:
		case e.events&seenPurchase != 0:
			return "You bought this earlier in this chat"
		case e.events&seenCart != 0:
			return "You put this in your basket in this chat"
		default:
			return "You looked at this in this chat"
		}
	}
	if r.prof != nil {
		return ""
	}
	cat := items.Catalog(j).Category
	for _, e := range r.sess.items {
		if items.Catalog(e.j).Category == cat {
			return "From " + cat + ", like what you " + r.sessionVerbs()
		}
	}
	return ""
}
