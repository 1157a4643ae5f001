package catalog

import (
	"slices"
	"strings"
	"unicode"
)

// Other is the category of a description no rule matches.
const Other = "other"

// categories lists every category, in the order Categories reports them.
var categories = []string{
	"christmas", "easter", "candles & lights", "home decor", "kitchen & dining",
	"bags", "jewellery & accessories", "stationery & cards", "party & wrapping",
	"toys & games", "sewing & crafts", "bathroom & beauty", "garden", "storage",
	"household & tools", Other,
}

// rules is the category table; Categorize documents how it is applied.
var rules = []struct {
	category string
	keywords string // space-separated; a phrase is written with '+': "T+LIGHT"
}{
	{"christmas", "CHRISTMAS XMAS ADVENT SANTA REINDEER SNOWFLAKE SNOWMAN SNOWMEN NATIVITY BAUBLE CRACKER NOEL JINGLE+BELL SLEIGH HOLLY TINSEL ICICLE"},
	{"easter", "EASTER BUNNY BUNNIES CHICK"},
	{"candles & lights", "CANDLE T+LIGHT TEALIGHT CANDLEHOLDER CANDLESTICK CANDLEPOT CANDLESTAND VOTIVE LIGHTS LIGHT+CHAIN LIGHT+GARLAND NIGHT+LIGHT TABLE+LIGHT BEDSIDE+LIGHT FAIRY+LIGHT UBO+LIGHT LANTERN LAMP LAMPSHADE CHANDELIER NIGHTLIGHT INCENSE OIL+BURNER FRAGRANCE+OIL TORCH"},
	{"home decor", "SIGN DOORSIGN WALL+ART CLOCK FRAME PHOTOFRAME MIRROR CUSHION SQUARECUSHION C+COVER FILLER+PAD DOORMAT DOORSTOP DOOR+HANGER KNOB DRAWERKNOB MAGNET"},
	{"stationery & cards", "CARD NOTEBOOK PEN PENCIL STICKER SKETCHBOOK CALENDAR ENVELOPE NOTELETS NOTEPAD ERASER DIARY JOURNAL BOOKMARK MEMO STAMP CRAYONS BOOK CHALK RULER SHARPENER STATIONERY WRITING+SET POSTCARD CALCULATOR MEMOBOARD HOLE+PUNCH LETTER+HOLDER LETTER+TRAY RUBBER"},
	{"party & wrapping", "PARTY WRAP WRAPPING RIBBON GIFT+BAG GIFT+TAG GIFT+TAPE BUNTING BALLOON CONFETTI PAPER+CHAIN TISSUE HONEYCOMB FLAGS PENNANT LEIS ROSETTE TIARA"},
	{"bathroom & beauty", "BATHROOM BATH SOAP HAND+TOWEL FLANNEL TOILET TOILETTE SPONGE HOT+WATER+BOTTLE HOTTIE PLASTERS FIRST+AID SHOWER TOOTHBRUSH WASHBAG TOILETRY BALM LIP+GLOSS PERFUME APOTHECARY NAIL MAKE+UP COSMETIC BASIN"},
	{"garden", "WATERING PLANTER FEEDER TRELLIS HERB GROW+YOUR+OWN GNOME TROWEL WINDMILL BIRDHOUSE BIRD+HOUSE BIRD+TABLE FEEDING+STATION FLOWER+POT PLANT+POT GREENHOUSE POTTING+SHED KNEELING WINDSOCK GARDENER GARDEN+FORK RAKE"},
	{"jewellery & accessories", "NECKLACE NECKL NECKLAC BRACELET BRACLET EARRING PENDANT BROOCH CHOKER LARIAT HAIR HAIRCLIP HAIRBAND BANGLE RING CHARM DIAMANTE UMBRELLA SCARF GLOVES HAT SOMBRERO PARASOL KEYRING KEY+FOB KEY+CHAIN LUGGAGE+TAG PASSPORT SUNGLASSES JEWELLERY HAND+WARMER POCKET+WARMER CLIPS FAN PONCHO RAIN+MAC SLIPPER EAR+MUFF HEADPHONES BADGE GRASS+SKIRT"},
	{"bags", "BAG HANDBAG PURSE WALLET SHOPPER TOTE RUCKSACK BACKPACK"},
	{"kitchen & dining", "MUG CUP SAUCER PLATE BOWL FRUITBOWL DISH TEA TEAPOT TEACUP TEASPOON COFFEE CAKE CAKESTAND BAKING BAKE LUNCH CUTLERY SPOON FORK KNIFE NAPKIN JUG BEAKER TUMBLER APRON OVEN TRAY JAM PAN KITCHEN DINNER BREAKFAST PICNIC COASTER PANTRY RECIPE CHOPPING+BOARD EGG+COSY EGG+HOUSE EGG+WARMER EGG+HOLDER SUGAR MILK BISCUIT TOAST TOASTRACK CUPCAKE JELLY MOULD WASHING+UP SNACK FOOD DRINKS BOTTLE+OPENER SCALES TEATIME COOKIE+CUTTER DOILY DOILIES PLACEMAT PLACE+SETTING TABLECLOTH TABLE+RUN STRAW COLANDER FLASK SALT PEPPER POPCORN WINE CHAMPAGNE APERITIF GOBLET CHALICE MILKSHAKE CHOPSTICKS PLATTER SQUEEZER UTENSIL COCKTAIL LOLLY COOKING CANNISTER CANISTER"},
	{"toys & games", "TOY GAME JIGSAW PUZZLE DOLL SKIPPING SKIPPPING SPINNING+TOP MARBLES DOMINOES TEDDY HARMONICA BLOCKS KNITTING+NANCY PLAYHOUSE SOLDIER RATTLE BINGO LUDO LADDERS CROSSES SKITTLES GLIDERS HELICOPTER PUPPET FLYING+DISC INFLATABLE ROCKING+HORSE BUBBLES CREEPY+CRAWLIE MODELLING DRAWING+SLATE SANDCASTLE SPADE TATTOOS FARM+ANIMAL WHEELBARROW BABY NESTING EIGHT+PIECE SPORTING+FUN GLOW+IN+DARK"},
	{"sewing & crafts", "SEWING KNITTING CRAFT FELTCRAFT CROCHET BUTTON THREAD SCISSOR ORIGAMI PAINT COLOURING TAPE FABRIC PATCHES"},
	{"household & tools", "PEGS MATCHES SCREWDRIVER TOOL SPIRIT+LEVEL REPAIR+KIT LAUNDRY IRONING MAT FLY+SWAT ASHTRAY"},
	{"storage", "STORAGE BASKET BOX TIN JAR DRAWER CABINET CHEST CRATE HAMPER ORGANISER TIDY BIN BUCKET HOOK RACK SHELF SHELVING HANGER COATHANGER CASE TRUNK TRINKET CONTAINER PIGGY+BANK KEY+HOLDER POT"},
	{"home decor", "WALL ORNAMENT DECORATION GARLAND WREATH VASE PICTURE PLAQUE ART CURTAIN THROW BLANKET QUILT RUG CHIME WINDCHIME BIRDCAGE DOOR HANGING PHOTO CHALKBOARD BLACKBOARD BLACK+BOARD CLOCHE LETTERS BLOCK+WORD STOOL POUFFE CHAIR LOVE+SEAT HAMMOCK SCREEN MOBILE PAPERWEIGHT TILE ARTIFICIAL+FLOWER ARTIIFCIAL+FLOWER FEATHER+TREE FLYING+DUCKS TOADSTOOL MUSHROOM BUDDHA DISCO+BALL PORCELAIN+ROSE SHELL WICKER HEART STAR"},
	{"bathroom & beauty", "TOWEL"},
	{"garden", "GARDEN PLANT SEED GROW SHED"},
}

// Rule is one row of the category table, for documentation (a model card).
type Rule struct {
	Category string
	Keywords []string // each a word or a phrase of words joined by '+'
}

// Rules returns the category table in the order Categorize tries it.
func Rules() []Rule {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = Rule{Category: r.category, Keywords: strings.Fields(r.keywords)}
	}
	return out
}

type rule struct {
	category string
	phrases  [][]string
}

var compiled = compile()

func compile() []rule {
	out := make([]rule, len(rules))
	for i, r := range rules {
		out[i].category = r.category
		for _, kw := range strings.Fields(r.keywords) {
			out[i].phrases = append(out[i].phrases, strings.Split(kw, "+"))
		}
	}
	return out
}

// Categories returns every category name in declared order, ending with
// "other", in a new slice.
func Categories() []string { return slices.Clone(categories) }

// isCategory reports whether name is one of Categories().
func isCategory(name string) bool { return slices.Contains(categories, name) }

// Categorize returns the category of an item description.
//
// How:
//
//  1. The description is upper-cased and split into words, a word being a
//     maximal run of letters, digits and apostrophes: "T-LIGHT HOLDER" is the
//     words T, LIGHT, HOLDER and "SET/3" is SET, 3.
//  2. A keyword is one word or a phrase of consecutive words (written with
//     '+' in the table: T+LIGHT, HOT+WATER+BOTTLE). It matches when its
//     words appear side by side in the description, each keyword word also
//     matching itself plus S or ES (CANDLE matches CANDLES, BOX matches
//     BOXES). Matching is on whole words: SIGN does not match DESIGN.
//  3. The rules are tried from the top; the first rule with a matching
//     keyword gives the category. A description no rule matches is "other".
//
// The order settles overlaps: seasonal themes first (a CHRISTMAS MUG is
// christmas), then candles and lights (a CAKE STAND T-LIGHT HOLDER),
// unambiguous home decor (signs, clocks, frames, mirrors, cushions), cards
// and stationery, party goods, bathroom, garden tools, jewellery and
// accessories, bags, kitchen and dining, and so on down to broad fallbacks.
// A category may have more than one rule: strong keywords early, weak ones
// (GARDEN, TOWEL, HEART, STAR) late, so that a GARDEN DESIGN MUG is kitchen
// & dining but a lone GARDEN item is garden, and a TEA TOWEL is kitchen &
// dining but a HAND TOWEL is bathroom & beauty. There are no categories in
// the data: this table was written by reading the item descriptions of the
// shipped months and is only as good as those keywords.
func Categorize(description string) string {
	words := splitWords(strings.ToUpper(description))
	for _, r := range compiled {
		for _, p := range r.phrases {
			if containsPhrase(words, p) {
				return r.category
			}
		}
	}
	return Other
}

// splitWords splits s into maximal runs of letters, digits and apostrophes.
func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(c rune) bool {
		return !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '\''
	})
}

// containsPhrase reports whether phrase occurs as consecutive words of words.
func containsPhrase(words, phrase []string) bool {
	for i := 0; i+len(phrase) <= len(words); i++ {
		ok := true
		for j, p := range phrase {
			if !wordMatches(words[i+j], p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// wordMatches reports whether w is the keyword word k or k with S or ES
// appended.
func wordMatches(w, k string) bool {
	if !strings.HasPrefix(w, k) {
		return false
	}
	switch w[len(k):] {
	case "", "S", "ES":
		return true
	}
	return false
}
