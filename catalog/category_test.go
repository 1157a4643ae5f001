package catalog

import (
	"slices"
	"strings"
	"testing"
)

func TestCategorize(t *testing.T) {
	// Real descriptions from the shipped data.
	tests := []struct{ desc, want string }{
		{"WHITE HANGING HEART T-LIGHT HOLDER", "candles & lights"},
		{"CHRISTMAS TREE T-LIGHT HOLDER", "christmas"},
		{"SET/6 EAU DE NIL BIRD T-LIGHTS", "candles & lights"},
		{"RABBIT NIGHT LIGHT", "candles & lights"},
		{"FEATHER PEN,LIGHT PINK", "stationery & cards"},
		{"BLUE EASTER EGG HUNT START POST", "easter"},
		{"JUMBO BAG RED RETROSPOT", "bags"},
		{"LUNCH BAG RED RETROSPOT", "bags"},
		{"50'S CHRISTMAS GIFT BAG LARGE", "christmas"},
		{"RED SPOT PAPER GIFT BAG", "party & wrapping"},
		{"REGENCY CAKESTAND 3 TIER", "kitchen & dining"},
		{"LUNCH BOX I LOVE LONDON", "kitchen & dining"},
		{"SET OF 3 CAKE TINS PANTRY DESIGN", "kitchen & dining"},
		{"RED TEA TOWEL CLASSIC DESIGN", "kitchen & dining"},
		{"HAND TOWEL PALE BLUE W FLOWERS", "bathroom & beauty"},
		{"SWISS ROLL TOWEL, CHOCOLATE  SPOTS", "bathroom & beauty"},
		{"HOT WATER BOTTLE TEA AND SYMPATHY", "bathroom & beauty"},
		{"STARFISH SOAP DISH", "bathroom & beauty"},
		{"PARTY BUNTING", "party & wrapping"},
		{"PACK OF 12 LONDON TISSUES", "party & wrapping"},
		{"TEA PARTY BIRTHDAY CARD", "stationery & cards"},
		{"PACK OF 72 RETROSPOT CAKE CASES", "kitchen & dining"},
		{"ASSORTED COLOUR BIRD ORNAMENT", "home decor"},
		{"HOME SWEET HOME METAL SIGN", "home decor"},
		{"KITCHEN METAL SIGN", "home decor"},
		{"WOODEN PICTURE FRAME WHITE FINISH", "home decor"},
		{"GREEN POP ART MAO CUSHION COVER", "home decor"},
		{"BLACK DINER WALL CLOCK", "home decor"},
		{"HEART OF WICKER SMALL", "home decor"},
		{"RED SPOT CERAMIC DRAWER KNOB", "home decor"},
		{"SKULLS STORAGE BOX SMALL", "storage"},
		{"SET 3 WICKER STORAGE BASKETS", "storage"},
		{"ENCHANTED BIRD COATHANGER 5 HOOK", "storage"},
		{"ROSES REGENCY TEACUP AND SAUCER", "kitchen & dining"},
		{"BLACK BIRD GARDEN DESIGN MUG", "kitchen & dining"},
		{"WATERING CAN BLUE ELEPHANT", "garden"},
		{"GARDENERS KNEELING PAD KEEP CALM", "garden"},
		{"GAOLERS KEYS DECORATIVE GARDEN", "garden"},
		{"SPACEBOY BIRTHDAY CARD", "stationery & cards"},
		{"12 PENCILS TALL TUBE SKULLS", "stationery & cards"},
		{"DOGGY RUBBER", "stationery & cards"},
		{"PAPER CHAIN KIT 50'S CHRISTMAS", "christmas"},
		{"PAPER CHAIN KIT RETROSPOT", "party & wrapping"},
		{"WRAP ENGLISH ROSE", "party & wrapping"},
		{"SPACEBOY LUNCH BOX", "kitchen & dining"},
		{"MINI JIGSAW SPACEBOY", "toys & games"},
		{"STRIPEY CHOCOLATE NESTING BOXES", "toys & games"},
		{"FELTCRAFT DOLL ROSIE", "toys & games"},
		{"HAND WARMER UNION JACK", "jewellery & accessories"},
		{"DIAMANTE HAIR GRIP PACK/2 BLACK DIA", "jewellery & accessories"},
		{"CHERRY BLOSSOM LUGGAGE TAG", "jewellery & accessories"},
		{"SILVER/CRYSTAL DROP EARRINGS W LEAF", "jewellery & accessories"},
		{"LETTER \"A\" BLING KEY RING", "jewellery & accessories"},
		{"PINK CREAM FELT CRAFT TRINKET BOX", "sewing & crafts"},
		{"VICTORIAN SEWING BOX MEDIUM", "sewing & crafts"},
		{"CLOTHES PEGS RETROSPOT PACK 24", "household & tools"},
		{"RETROSPOT GIANT TUBE MATCHES", "household & tools"},
		{"PAINTED METAL PEARS ASSORTED", Other},
		{"Next Day Carriage", Other},
		{"", Other},
		// Lower case, odd spacing and punctuation.
		{"  jumbo bag   pink polkadot ", "bags"},
		{"Hand Warmer,Owl Design", "jewellery & accessories"},
	}
	for _, tc := range tests {
		if got := Categorize(tc.desc); got != tc.want {
			t.Errorf("Categorize(%q) = %q, want %q", tc.desc, got, tc.want)
		}
	}
}

func TestWordMatching(t *testing.T) {
	tests := []struct {
		desc, category string
	}{
		{"CANDLES", "candles & lights"}, // plural in S
		{"GIFT BOXES", "storage"},       // plural in ES
		{"BOXER", Other},                // not a word of the table
		{"DESIGN", Other},               // SIGN is matched as a whole word only
		{"T LIGHT", "candles & lights"}, // a phrase over a space ...
		{"T-LIGHT", "candles & lights"}, // ... or a hyphen
		{"LIGHT T", Other},              // a phrase keeps its order
	}
	for _, tc := range tests {
		if got := Categorize(tc.desc); got != tc.category {
			t.Errorf("Categorize(%q) = %q, want %q", tc.desc, got, tc.category)
		}
	}
}

func TestCategories(t *testing.T) {
	cats := Categories()
	if n := len(cats); n < 15 || n > 25 || cats[n-1] != Other {
		t.Fatalf("Categories() = %q", cats)
	}
	cats[0] = "changed"
	if Categories()[0] == "changed" {
		t.Error("Categories returns a shared slice")
	}
	used := map[string]bool{}
	for _, r := range Rules() {
		if !isCategory(r.Category) || r.Category == Other {
			t.Errorf("rule category %q is not declared", r.Category)
		}
		if len(r.Keywords) == 0 {
			t.Errorf("rule for %q has no keyword", r.Category)
		}
		used[r.Category] = true
	}
	for _, c := range Categories() {
		if c != Other && !used[c] {
			t.Errorf("category %q has no rule", c)
		}
	}
}

// TestNoDeadKeywords checks that every keyword can win: no keyword of the
// same or an earlier rule already matches its words.
func TestNoDeadKeywords(t *testing.T) {
	type kw struct {
		rule  int
		words []string
	}
	var all []kw
	for i, r := range compiled {
		for _, p := range r.phrases {
			if slices.ContainsFunc(p, func(w string) bool { return w != strings.ToUpper(w) || w == "" }) {
				t.Errorf("rule %d: keyword %q is not upper case", i, p)
			}
			all = append(all, kw{i, p})
		}
	}
	for a, ka := range all {
		for b, kb := range all {
			if a != b && kb.rule <= ka.rule && (b < a || len(kb.words) < len(ka.words)) && containsPhrase(ka.words, kb.words) {
				t.Errorf("keyword %q of rule %d (%s) is shadowed by %q of rule %d",
					strings.Join(ka.words, "+"), ka.rule, rules[ka.rule].category,
					strings.Join(kb.words, "+"), kb.rule)
			}
		}
	}
}
