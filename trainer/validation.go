package trainer

// ValidationCommand is the documented command that writes the validation
// block of both shipped cards (go run ./benchmarks/quality).
const ValidationCommand = "make evaluate"

// ValidationNote is the card note that says where the validation figures
// come from and how to reproduce them.
const ValidationNote = "validation holds the offline figures of DESIGN.md's protocol for this training recipe, " +
	"refitted on purchases before the validation cut, with every baseline beside them; `" + ValidationCommand +
	"` reproduces them and rewrites this block. `make models` keeps the block while the model file is unchanged (same sha256) " +
	"and replaces it with validation_stale when the model changes."

// ValidationStale is what a card says instead of a validation block when
// its model file is not the one the last `make evaluate` saw.
const ValidationStale = "stale: no validation figures for this model file; it is new or changed (another sha256) since `" + ValidationCommand +
	"` last wrote this card, or that never ran; run `" + ValidationCommand + "` to record them"

// Row kinds in a Validation table.
const (
	RowTailor   = "tailor"
	RowBaseline = "baseline"
)

// Validation is a card's offline evaluation on the temporal split of
// DESIGN.md. The figures belong to the same recipe (code, data and
// parameters) trained at Protocol.TrainBefore, not to the shipped weights,
// which were trained on the test months too.
type Validation struct {
	Statement    string             `json:"statement"`
	Command      string             `json:"command"`
	GoCommand    string             `json:"go_command"`
	Date         string             `json:"date"`
	Protocol     ValidationProtocol `json:"protocol"`
	Evaluated    map[string]string  `json:"evaluated_models"` // name -> version of the models trained at the cut
	BestBaseline BestBaselines      `json:"best_baseline"`
	Methods      []ValidationRow    `json:"methods"`
}

// ValidationProtocol is the split and the measure.
type ValidationProtocol struct {
	TrainBefore    string     `json:"train_before"`
	TestFrom       string     `json:"test_from"`
	TestTo         string     `json:"test_to"` // inclusive
	TrainPurchases int        `json:"train_purchases"`
	TestPurchases  int        `json:"test_purchases"`
	K              int        `json:"k"`
	Customers      TaskCounts `json:"customers"`
	Tasks          string     `json:"tasks"`
	Metrics        string     `json:"metrics"`
}

// TaskCounts are the customers evaluated on each task.
type TaskCounts struct {
	AllItems int `json:"all_items"`
	NewItems int `json:"new_items"`
}

// BestBaselines names the strongest baseline of each task by NDCG@k.
type BestBaselines struct {
	AllItems BestBaseline `json:"all_items"`
	NewItems BestBaseline `json:"new_items"`
}

// BestBaseline is one task's strongest baseline and how this card's model
// (the row marked this_model) compares with it.
type BestBaseline struct {
	Method            string  `json:"method"`
	NDCG              float64 `json:"ndcg"`
	ThisModelNDCG     float64 `json:"this_model_ndcg"`
	ThisModelRelative float64 `json:"this_model_ndcg_vs_best_baseline"`
}

// ValidationRow is one method's figures on both tasks.
type ValidationRow struct {
	Method    string      `json:"method"`
	Kind      string      `json:"kind"` // RowTailor or RowBaseline
	ThisModel bool        `json:"this_model,omitempty"`
	AllItems  TaskFigures `json:"all_items"`
	NewItems  TaskFigures `json:"new_items"`
	Notes     string      `json:"notes,omitempty"`
}

// TaskFigures are the means over one task's customers, at k.
type TaskFigures struct {
	Recall  float64 `json:"recall"`
	NDCG    float64 `json:"ndcg"`
	HitRate float64 `json:"hit_rate"`
	// VsBestBaseline is NDCG / best baseline's NDCG − 1 on this task
	// (0.05 means 5% above it).
	VsBestBaseline float64 `json:"ndcg_vs_best_baseline"`
}

// KeepValidation decides c's validation from prev, the card c replaces (nil
// when there is none): when prev described the same model file (same
// sha256) its block carries over; otherwise c has none and says it is stale.
func (c *Card) KeepValidation(prev *Card) {
	if prev != nil && prev.SHA256 == c.SHA256 && prev.Validation != nil {
		c.Validation, c.ValidationStale = prev.Validation, ""
		return
	}
	c.Validation, c.ValidationStale = nil, ValidationStale
}
