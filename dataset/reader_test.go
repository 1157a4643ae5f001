package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func date(s string) time.Time {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestReadDirGood(t *testing.T) {
	ps, st, err := ReadDir(filepath.Join("testdata", "good"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Purchase{
		{"536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, 2.55, date("2010-12-01 08:26:00"), "17850", "United Kingdom"},
		{"536365", "85123A", "HEART, WHITE", 2, 2.55, date("2010-12-01 08:26:00"), "17850", "United Kingdom"},
		{"536370", "15056BL", "EDWARDIAN PARASOL BLACK", 1, 5.95, date("2010-12-01 08:45:00"), "12583", "France"},
		{"536377", "85099B", "JUMBO BAG RED RETROSPOT", 10, 1.95, date("2010-12-01 10:00:00"), "17850", "United Kingdom"},
		{"539993", "22386", "JUMBO BAG PINK POLKADOT", 10, 1.95, date("2011-01-04 10:00:00"), "13313", "United Kingdom"},
		{"539993", "21499", "BLUE POLKADOT WRAP", 25, 0.42, date("2011-01-04 10:00:00"), "13313", "United Kingdom"},
	}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("purchases:\n got %v\nwant %v", ps, want)
	}
	wantStats := Stats{Files: 2, Rows: 20, Kept: 6, Dropped: map[DropReason]int{
		DropNoCustomer:          3,
		DropCancellation:        2,
		DropNotProduct:          7,
		DropNonPositiveQuantity: 1,
		DropNonPositivePrice:    1,
	}}
	if !reflect.DeepEqual(st, wantStats) {
		t.Errorf("stats: got %+v, want %+v", st, wantStats)
	}
	// Repeated strings are stored once.
	for _, pair := range [][2]string{
		{ps[0].Invoice, ps[1].Invoice}, {ps[0].Item, ps[1].Item},
		{ps[0].Customer, ps[3].Customer}, {ps[0].Country, ps[5].Country},
	} {
		if unsafe.StringData(pair[0]) != unsafe.StringData(pair[1]) {
			t.Errorf("%q is not interned", pair[0])
		}
	}
}

func TestReadOneFile(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "good", "online_retail_2011-01.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, st, err := Read(f, "jan")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || st.Files != 1 || st.Rows != 2 || st.Kept != 2 || len(st.Dropped) != 5 {
		t.Errorf("got %d purchases, stats %+v", len(ps), st)
	}
}

// linesBeforeError counts the complete lines a gzip stream yields before
// its error, so the truncated file's expected line can be computed.
func linesBeforeError(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("%s: want an unexpected EOF, got %v", path, err)
	}
	return bytes.Count(text, []byte("\n"))
}

func TestReadErrors(t *testing.T) {
	truncLine := 1 + linesBeforeError(t, filepath.Join("testdata", "bad", "truncated.csv.gz"))
	if truncLine < 10 {
		t.Fatalf("truncated.csv.gz breaks off too early, at line %d", truncLine)
	}
	tests := []struct {
		file  string
		line  int
		field string
		msg   string // a part of the message
		is    error  // errors.Is target, if any
	}{
		{"wrong_header.csv.gz", 1, "", "wrong header", nil},
		{"bad_quantity.csv.gz", 4, "Quantity", `invalid integer "six"`, nil},
		{"bad_price.csv.gz", 5, "UnitPrice", `invalid number "abc"`, nil},
		{"bad_date.csv.gz", 3, "InvoiceDate", `invalid date "01/12/2010 08:45"`, nil},
		{"bad_customer.csv.gz", 4, "CustomerID", `"12583.5" is not a non-negative whole number`, nil},
		{"bad_customer_text.csv.gz", 3, "CustomerID", `invalid customer id "C12583"`, nil},
		{"short_row.csv.gz", 6, "", "wrong number of fields: got 7, want 8", nil},
		{"bad_quote.csv.gz", 3, "", `bare " in non-quoted-field`, nil},
		{"truncated.csv.gz", truncLine, "", "truncated gzip stream", io.ErrUnexpectedEOF},
		{"not_gzip.csv.gz", 1, "", "not a gzip file", gzip.ErrHeader},
		{"empty.csv.gz", 1, "", "empty file", nil},
		{"empty_gzip.csv.gz", 1, "", "missing header", nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "bad", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ps, _, err := Read(f, tc.file)
			if err == nil {
				t.Fatalf("no error, %d purchases", len(ps))
			}
			if ps != nil {
				t.Errorf("got %d purchases along with the error", len(ps))
			}
			msg := err.Error()
			if prefix := tc.file + ":" + strconv.Itoa(tc.line) + ": "; !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with %q", msg, prefix)
			}
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q does not contain %q", msg, tc.msg)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.File != tc.file || pe.Line != tc.line || pe.Field != tc.field {
				t.Errorf("got File %q Line %d Field %q, want %q %d %q", pe.File, pe.Line, pe.Field, tc.file, tc.line, tc.field)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

func TestReadDirErrors(t *testing.T) {
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "notes.csv"), []byte(hdr), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadDir(empty); err == nil || !strings.Contains(err.Error(), "no *.csv.gz files") {
		t.Errorf("empty dir: got %v", err)
	}
	if _, _, err := ReadDir(filepath.Join(empty, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: got %v", err)
	}
	// The first file in name order stops ReadDir; the error names its path.
	bad := filepath.Join("testdata", "bad")
	_, st, err := ReadDir(bad)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != filepath.Join(bad, "bad_customer.csv.gz") || pe.Line != 4 {
		t.Errorf("bad dir: got %v", err)
	}
	if st.Files != 1 || st.Rows != 3 {
		t.Errorf("bad dir: stats %+v", st)
	}
}

func TestParseErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		e    ParseError
		want string
	}{
		{ParseError{"online_retail_2011-02.csv.gz", 17, "UnitPrice", errors.New(`invalid number "abc"`)},
			`online_retail_2011-02.csv.gz:17: UnitPrice: invalid number "abc"`},
		{ParseError{"f.csv.gz", 1, "", errors.New("missing header")}, "f.csv.gz:1: missing header"},
		{ParseError{"f.csv.gz", 0, "", errors.New("x")}, "f.csv.gz: x"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestIsProductCode(t *testing.T) {
	for _, c := range []string{"85123A", "85123a", "85099B", "15056BL", "15056bl", "22633", "47566b"} {
		if !IsProductCode(c) {
			t.Errorf("%q should be a product code", c)
		}
	}
	for _, c := range []string{"", "POST", "M", "m", "D", "DOT", "C2", "S", "B", "BANK CHARGES", "AMAZONFEE",
		"PADS", "CRUK", "DCGSSGIRL", "DCGS0003", "DCGS0066P", "gift_0001_20", "1234", "123456", "12345ABC",
		"12345-", "1234A", "85123 ", " 85123", "85123A1", "8512é", "23444", "23574", "23702"} {
		if IsProductCode(c) {
			t.Errorf("%q should not be a product code", c)
		}
	}
}
