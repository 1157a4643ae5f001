package recommend

import "fmt"

// Thresholds above which a signal is worth telling the customer about.
const (
	reasonCFRank        = 50   // among the CF model's top 50 allowed items for this basket
	reasonAffinity      = 0.15 // at least 15% of the customer's lines
	reasonRecentBuyers  = 30   // bought by 30+ customers in the last 30 days
	dateLayoutForPeople = "2 Jan 2006"
)

// modelReasons says which signals put a model-ranked item in the answer, in
// words a chatbot can show. There is always at least one reason.
func (r *run) modelReasons(c *cand) []string {
	var out []string
	if h := c.c.History; h != nil {
		times := "once"
		if h.Invoices > 1 {
			times = fmt.Sprintf("%d times", h.Invoices)
		}
		out = append(out, fmt.Sprintf("You have bought this %s, most recently on %s", times, h.Last.Format(dateLayoutForPeople)))
	}
	if c.c.HasCF && c.cfPos >= 0 && c.cfPos < reasonCFRank && c.c.History == nil {
		out = append(out, r.cfReason())
	}
	if why := r.sessionReason(c.j); why != "" {
		out = append(out, why)
	}
	if r.prof != nil {
		if share := r.prof.Categories[c.c.Item.Category]; share >= reasonAffinity {
			out = append(out, fmt.Sprintf("From %s, one of the categories you buy most", c.c.Item.Category))
		}
	}
	if c.c.Item.RecentBuyers >= reasonRecentBuyers {
		out = append(out, fmt.Sprintf("Popular right now: %d customers bought it in the last 30 days", c.c.Item.RecentBuyers))
	}
	if len(out) == 0 {
		out = append(out, "Picked for you by our purchase-likelihood model")
	}
	if r.req.Explain {
		line := fmt.Sprintf("score %.3f", c.score)
		if c.hasProb {
			line += fmt.Sprintf("; propensity %.3f", c.prob)
		}
		if c.c.HasCF {
			line += fmt.Sprintf("; CF score %.3f of the best", c.c.CFScore)
		} else {
			line += "; no CF score"
		}
		out = append(out, line)
	}
	return out
}
