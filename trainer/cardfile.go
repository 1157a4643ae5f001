package trainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
)

// ReadCard reads the card at path; a missing file gives nil and no error.
func ReadCard(path string) (*Card, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c Card
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("card %s: %w", path, err)
	}
	return &c, nil
}

// UnmarshalJSON decodes a card and keeps its free-form sections
// (parameters, training, offline_metrics: every field of interface type)
// as the raw JSON they were, so JSONCard gives back the same bytes: a card
// read and written again keeps its key order instead of sorting it.
func (c *Card) UnmarshalJSON(b []byte) error {
	type plain Card // without this method
	var p plain
	v := reflect.ValueOf(&p).Elem()
	var raws []*json.RawMessage
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Interface {
			raw := new(json.RawMessage)
			raws = append(raws, raw)
			f.Set(reflect.ValueOf(raw)) // json decodes into the pointer
		}
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	n := 0
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Interface {
			if raw := *raws[n]; raw != nil {
				f.Set(reflect.ValueOf(raw))
			} else {
				f.SetZero()
			}
			n++
		}
	}
	*c = Card(p)
	return nil
}
