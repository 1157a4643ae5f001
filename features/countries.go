package features

import "strings"

// Country returns the data's spelling of the country a request names, so
// that "United Kingdom", "united kingdom", "GB" and "uk" all find the
// popular list of "United Kingdom". A name is matched without regard to
// case or surrounding spaces, and also by its ISO 3166-1 alpha-2 code or a
// common English name where the data spells it otherwise ("IE" and
// "Ireland" for "EIRE"). Only countries with their own popular list (see
// Countries) are matched; any other name comes back trimmed, so a blank
// one comes back "" and names no country.
func (it *Items) Country(name string) string {
	if _, ok := it.country[name]; ok {
		return name
	}
	name = strings.TrimSpace(name)
	if c, ok := it.countryKeys[strings.ToLower(name)]; ok {
		return c
	}
	return name
}

// countryKeys maps the lower-cased names, codes and aliases of every
// country with its own popular list to the data's spelling.
func countryKeys(lists map[string][]int) map[string]string {
	keys := make(map[string]string, len(lists))
	for c := range lists {
		keys[strings.ToLower(c)] = c
	}
	for alias, c := range countryAliases() {
		if _, ok := lists[c]; ok {
			if _, taken := keys[alias]; !taken {
				keys[alias] = c
			}
		}
	}
	return keys
}

// countryAliases are the ISO 3166-1 alpha-2 codes of the countries in the
// shipped data (Online Retail), and the usual English names of those it
// spells otherwise, lower-cased, each with the data's spelling.
func countryAliases() map[string]string {
	return map[string]string{
		"gb": "United Kingdom", "uk": "United Kingdom", "great britain": "United Kingdom",
		"ie": "EIRE", "ireland": "EIRE",
		"us": "USA", "united states": "USA", "united states of america": "USA",
		"za": "RSA", "south africa": "RSA",
		"cz": "Czech Republic", "czechia": "Czech Republic",
		"ae": "United Arab Emirates", "uae": "United Arab Emirates",
		"nl": "Netherlands", "the netherlands": "Netherlands",
		"eu": "European Community",
		"je": "Channel Islands", "gg": "Channel Islands",
		"de": "Germany", "fr": "France", "es": "Spain", "ch": "Switzerland", "be": "Belgium",
		"pt": "Portugal", "au": "Australia", "no": "Norway", "fi": "Finland", "it": "Italy",
		"cy": "Cyprus", "se": "Sweden", "at": "Austria", "jp": "Japan", "il": "Israel",
		"dk": "Denmark", "hk": "Hong Kong", "pl": "Poland", "sg": "Singapore", "is": "Iceland",
		"ca": "Canada", "gr": "Greece", "mt": "Malta", "lb": "Lebanon", "lt": "Lithuania",
		"br": "Brazil", "bh": "Bahrain", "sa": "Saudi Arabia",
	}
}
