package trainer

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/tailorhq/tailor/catalog"
	"github.com/tailorhq/tailor/features"
	"github.com/tailorhq/tailor/model"
	"github.com/tailorhq/tailor/propensity"
)

// DataSource is the attribution every card carries.
const DataSource = "UCI Machine Learning Repository, Online Retail (id 352): Daqing Chen, Sai Liang Sain and Kun Guo (2012), " +
	"Data mining for the online retail industry, Journal of Database Marketing and Customer Strategy Management 19(3)"

// temporalSplit points from offline_metrics to the validation block.
const temporalSplit = "see validation (same recipe trained at the 2011-09-01 cut, written by `" + ValidationCommand + "`; also in benchmarks/RESULTS.md)"

// Build returns both models encoded, with their cards filled in.
func (m *Models) Build() (cfArt, propArt *Artifact, err error) {
	if cfArt, err = m.CFArtifact(); err != nil {
		return nil, nil, err
	}
	if propArt, err = m.PropensityArtifact(); err != nil {
		return nil, nil, err
	}
	data := m.cardData()
	best := m.Report.CFTrials[0]
	for _, t := range m.Report.CFTrials {
		if t.Score > best.Score {
			best = t
		}
	}
	cfArt.Card = Card{
		Name: "cf", Kind: model.KindCF, Version: cfArt.Version, File: CFFile, SHA256: Digest(cfArt.ONNX),
		TrainedAt: m.trainedAt(), Producer: Producer, Data: data,
		Method: "Implicit ALS (Hu, Koren and Volinsky 2008) with conjugate-gradient updates; served as a linear " +
			"fold-in: factors = interactions · Y(YᵀY + λI)⁻¹, scores = factors · Yᵀ.",
		Parameters: m.ALS.Params,
		Inputs:     map[string]string{model.CFInput: fmt.Sprintf("float32 [batch, %d]: log1p(distinct invoices) per item, index order = metadata item_ids", m.Vocab.Len())},
		Outputs:    map[string]string{model.CFOutput: fmt.Sprintf("float32 [batch, %d]: score per item, higher is better", m.Vocab.Len())},
		Training: map[string]any{
			"selection":       "grid search on a validation split carved from the training data: fit before feature_cut, evaluate on [feature_cut, cut); criterion mean NDCG@10 of the all-items and new-items tasks",
			"feature_cut":     m.Report.FeatureCut.Format("2006-01-02"),
			"grid":            m.Report.CFTrials,
			"final_fit_until": m.Cut.Format("2006-01-02"),
		},
		Metrics: map[string]any{
			"validation_chosen": best,
			"temporal_split":    temporalSplit,
		},
		Notes: []string{
			"trained_at is the training cut-off, not the wall clock, so the same data gives byte-identical files.",
			"version is the cut date and the first 8 hex digits of a sha256 over the weights, the vocabulary and the parameters.",
			ValidationNote,
		},
	}
	defs := features.Propensity()
	if m.DiscoverPropensity == nil {
		defs = slices.DeleteFunc(defs, func(d features.Definition) bool { return d.Name == ModeFeature || d.Name == CoPurchaseFeature })
	}
	feats := make([]CardFeature, len(defs))
	col := map[string]int{}
	for i, d := range defs {
		col[d.Name] = i
		feats[i] = CardFeature{Name: d.Name, Entity: d.Entity, Default: d.Default, Source: d.Source}
	}
	for k, n := range m.Propensity.Features {
		feats[col[n]].Weight = m.Propensity.Weights[k]
	}
	if d := m.DiscoverPropensity; d != nil {
		for k, n := range d.Features {
			w := d.Weights[k]
			feats[col[n]].DiscoverWeight = &w
		}
		if m.DiscoverTrees != nil {
			for _, t := range m.DiscoverTrees.Trees {
				for _, nd := range t.Nodes {
					if nd.Feature >= 0 {
						feats[col[m.DiscoverTrees.Features[nd.Feature]]].DiscoverTreeSplits++
					}
				}
			}
		}
	}
	method := "Logistic regression fitted by Newton's method (IRLS, each step backtracked until the loss falls) with an L2 penalty on standardised features; " +
		"the standardisation is folded into the raw weights, so the graph is sigmoid(features · w + b)."
	params := map[string]any{"fit": propensity.DefaultParams(), "cf_candidates": CFCandidates, "discover_cf_candidates": DiscoverCFCandidates, "popular_candidates": PopularCandidates,
		"copurchase": map[string]any{"method": "EASE item-item weights B[j][i] > 0 over binarised purchases before the features' reference time", "lambda": CoPurchaseLambda, "neighbours": features.CoPurchaseNeighbours}}
	if m.Trees != nil {
		method += " Gradient-boosted regression trees then correct its logit: boosted on the logistic loss from the logistic logit, " +
			"grown depth-wise on per-feature quantile histograms with Newton leaf values (sum of gradients over sum of p(1−p) plus l2, times the learning rate). " +
			"The graph is sigmoid(TreeEnsembleRegressor(features) + features · w + b), the trees in the ai.onnx.ml operator set (version 3)."
		params["trees"] = m.Trees.Params
		for _, t := range m.Trees.Trees {
			for _, nd := range t.Nodes {
				if nd.Feature >= 0 {
					feats[col[m.Trees.Features[nd.Feature]]].TreeSplits++
				}
			}
		}
	}
	if m.DiscoverPropensity != nil {
		method += " Two such sub-models are in one graph, selected per row by the discover_mode column (1 for a request in discover mode, through ONNX Where): " +
			"the auto one reads every feature but discover_mode and copurchase and learns from the auto and discover candidates; " +
			"the discover one reads copurchase too and learns from the discover candidates alone (weights: discover_weight, discover_tree_splits)."
		params["discover_sub_model"] = true
	}
	propArt.Card = Card{
		Name: "propensity", Kind: model.KindPropensity, Version: propArt.Version, File: PropensityFile, SHA256: Digest(propArt.ONNX),
		TrainedAt: m.trainedAt(), Producer: Producer, Data: data,
		Method:     method,
		Parameters: params,
		Inputs:     map[string]string{model.PropensityInput: fmt.Sprintf("float32 [batch, %d] in feature_names order", len(defs))},
		Outputs:    map[string]string{model.PropensityOutput: fmt.Sprintf("float32 [batch, 1]: probability that the customer buys the item in the next %s", m.labelSpan())},
		Features:   feats,
		Training: map[string]any{
			"examples":      "for each label window [from, to) and every customer with a purchase in it and one before from: the top CF candidates, every item the customer bought before and popular items (as auto mode gathers them), plus the deeper CF candidates among items the customer never bought (as discover mode gathers them), with features as of from (CF fitted before from)",
			"label":         "1 if the customer bought the item in [from, to)",
			"label_windows": m.labelWindows(),
			"rows":          m.Report.PropensityRows, "positives": m.Report.PropensityPos, "customer_windows": m.Report.CustomerWindows(),
			"iterations": m.Report.PropensityIters,
		},
		Metrics: map[string]any{
			"training_auc":      m.Report.PropensityAUC,
			"training_log_loss": m.Report.PropensityLogLoss,
			"temporal_split":    temporalSplit,
		},
		Notes: []string{"Serving computes each column with features.Propensity(), the same code the trainer used.", ValidationNote},
	}
	return cfArt, propArt, nil
}

func (m *Models) cardData() CardData {
	return CardData{
		Source: DataSource, License: "CC BY 4.0", Range: m.dataRange(), Cut: m.Cut.Format("2006-01-02"),
		Purchases: m.Purchases, Customers: len(m.Profiles), Items: m.Vocab.Len(),
		Categories: "derived from the description by catalog.Categorize: the upper-cased description is split into words and " +
			"the first rule below with a keyword (or phrase) among them gives the category; no match gives \"other\"",
		Rules: catalog.Rules(),
	}
}

// aucLogLoss measures the propensity model on rows of d.
func aucLogLoss(p propensity.Predictor, d *propensity.Dataset) (auc, logloss float64) {
	n := d.Rows()
	prob := make([]float32, n)
	p.Predict(d.X, prob)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return prob[idx[a]] < prob[idx[b]] })
	var pos, rankSum float64
	for r, i := range idx {
		if d.Labels[i] == 1 {
			pos++
			rankSum += float64(r + 1)
		}
		q := min(max(float64(prob[i]), 1e-7), 1-1e-7)
		if d.Labels[i] == 1 {
			logloss -= math.Log(q)
		} else {
			logloss -= math.Log(1 - q)
		}
	}
	neg := float64(n) - pos
	auc = (rankSum - pos*(pos+1)/2) / (pos * neg)
	return round4(auc), round4(logloss / float64(n))
}

// labelWindows lists the propensity model's label windows for its card.
func (m *Models) labelWindows() []map[string]any {
	out := make([]map[string]any, len(m.Report.LabelWindows))
	for i, w := range m.Report.LabelWindows {
		out[i] = map[string]any{"from": w.From.Format("2006-01-02"), "to": w.To.Format("2006-01-02"), "customers": w.Customers}
	}
	return out
}

// labelSpan says how long the label windows are ("month", "2 months").
func (m *Models) labelSpan() string {
	if m.Report.LabelMonths == 1 {
		return "month"
	}
	return fmt.Sprintf("%d months", m.Report.LabelMonths)
}
