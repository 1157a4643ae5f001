package similar

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
)

// stopWords are title words that say nothing about what an item is like.
var stopWords = map[string]bool{
	"A": true, "AN": true, "THE": true, "OF": true, "AND": true, "OR": true, "IN": true, "ON": true,
	"WITH": true, "FOR": true, "TO": true, "BY": true, "AT": true, "IS": true, "SET": true, "PACK": true,
	"PCS": true, "PC": true, "ASSORTED": true,
}

// Tokens cuts a title into its content words: upper-cased runs of letters,
// hyphens and apostrophes (T-LIGHT stays one word), trimmed of hyphens and
// apostrophes, without stop words, words with digits, one-letter words and
// repeats, in order of first appearance.
func Tokens(title string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToUpper(title), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '\''
	}) {
		f = strings.Trim(f, "-'")
		if len(f) < 2 || stopWords[f] || strings.ContainsFunc(f, unicode.IsDigit) || slices.Contains(out, f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// tokenize fills vocab and each item's token ids, rarest first (ties by
// text), so reasons name the most telling shared words.
func (x *Index) tokenize() {
	ids := map[string]int32{}
	df := []int{}
	x.tokens = make([][]int32, len(x.titles))
	for j, title := range x.titles {
		for _, w := range Tokens(title) {
			t, ok := ids[w]
			if !ok {
				t = int32(len(x.vocab))
				ids[w] = t
				x.vocab = append(x.vocab, w)
				df = append(df, 0)
			}
			df[t]++
			x.tokens[j] = append(x.tokens[j], t)
		}
	}
	for _, ts := range x.tokens {
		slices.SortFunc(ts, func(a, b int32) int {
			return cmp.Or(cmp.Compare(df[a], df[b]), strings.Compare(x.vocab[a], x.vocab[b]))
		})
	}
	x.df = df
}

// weights returns each item's L2-normalised idf weights, aligned with its
// tokens. A token every item has weighs nothing.
func (x *Index) weights() [][]float64 {
	n := float64(len(x.titles))
	out := make([][]float64, len(x.tokens))
	for j, ts := range x.tokens {
		w := make([]float64, len(ts))
		var norm float64
		for k, t := range ts {
			w[k] = math.Log(n / float64(x.df[t]))
			norm += w[k] * w[k]
		}
		if norm > 0 {
			norm = math.Sqrt(norm)
			for k := range w {
				w[k] /= norm
			}
		}
		out[j] = w
	}
	return out
}
