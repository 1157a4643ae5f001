package dataset

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Header is the exact header line every file must start with (a UTF-8 byte
// order mark before it is ignored).
const Header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"

// DateLayout is the layout of the InvoiceDate column; dates are read as UTC.
const DateLayout = "2006-01-02 15:04:05"

// columns are the names of the eight columns, in file order.
var columns = strings.Split(Header, ",")

// Column indexes.
const (
	colInvoice = iota
	colStockCode
	colDescription
	colQuantity
	colDate
	colPrice
	colCustomer
	colCountry
	numColumns
)

// DropReasons returns every DropReason in the order the rules are checked.
func DropReasons() []DropReason {
	return []DropReason{
		DropNoCustomer, DropCancellation, DropNotProduct,
		DropNonPositiveQuantity, DropNonPositivePrice,
	}
}

// ParseError reports a file that cannot be read: a bad gzip stream, a wrong
// header, a record with the wrong number of fields or a malformed value.
type ParseError struct {
	File  string // the name given to Read, or the path under ReadDir
	Line  int    // 1-based line of the CSV text (header = 1); 0 if unknown
	Field string // column name, empty when the error is not about one column
	Err   error  // the underlying error
}

// Error reads like `online_retail_2011-02.csv.gz:17: UnitPrice: invalid number "abc"`.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// ReadDir reads every *.csv.gz file of dir in name order and returns their
// cleaned purchases concatenated in file order, with the summed Stats. It is
// an error if dir holds no such file. Errors about a file's content are
// *ParseError values whose File is the file's path.
func ReadDir(dir string) ([]Purchase, Stats, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, newStats(), err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".csv.gz") {
			names = append(names, filepath.Join(dir, e.Name()))
		}
	}
	if len(names) == 0 {
		return nil, newStats(), fmt.Errorf("dataset: no *.csv.gz files in %s", dir)
	}
	rd := newReader()
	for _, name := range names {
		if err := rd.readFile(name); err != nil {
			return nil, rd.stats, err
		}
	}
	return rd.purchases(), rd.stats, nil
}

// Read reads one gzip-compressed CSV stream; name identifies it in errors.
// It returns the cleaned purchases in file order and what was seen.
func Read(r io.Reader, name string) ([]Purchase, Stats, error) {
	rd := newReader()
	if err := rd.read(r, name); err != nil {
		return nil, rd.stats, err
	}
	return rd.purchases(), rd.stats, nil
}

func newStats() Stats {
	s := Stats{Dropped: make(map[DropReason]int, 5)}
	for _, d := range DropReasons() {
		s.Dropped[d] = 0
	}
	return s
}

// reader holds the state shared by the files of one ReadDir call, so that
// repeated strings are stored once.
type reader struct {
	chunks [][]Purchase // kept purchases, in fixed-size chunks to avoid regrowing
	stats  Stats

	strs      map[string]string // interned strings: invoices, descriptions, countries
	items     map[string]string // raw StockCode -> upper-cased interned id
	customers map[string]string // raw CustomerID -> canonical id
}

func newReader() *reader {
	return &reader{
		stats:     newStats(),
		strs:      make(map[string]string),
		items:     make(map[string]string),
		customers: make(map[string]string),
	}
}

// chunkSize is the capacity of each chunk of kept purchases.
const chunkSize = 1 << 14

// add appends a kept purchase.
func (rd *reader) add(p Purchase) {
	n := len(rd.chunks)
	if n == 0 || len(rd.chunks[n-1]) == chunkSize {
		rd.chunks = append(rd.chunks, make([]Purchase, 0, chunkSize))
		n++
	}
	rd.chunks[n-1] = append(rd.chunks[n-1], p)
}

// purchases returns the kept purchases in one slice of exact size (nil if
// none).
func (rd *reader) purchases() []Purchase {
	if rd.stats.Kept == 0 {
		return nil
	}
	out := make([]Purchase, 0, rd.stats.Kept)
	for _, c := range rd.chunks {
		out = append(out, c...)
	}
	rd.chunks = nil
	return out
}

// intern returns a copy of s shared by every equal string it was given. The
// copy does not keep alive the CSV line s was sliced from.
func (rd *reader) intern(s string) string {
	if v, ok := rd.strs[s]; ok {
		return v
	}
	s = strings.Clone(s)
	rd.strs[s] = s
	return s
}

func (rd *reader) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return rd.read(f, path)
}

// read parses one gzip CSV stream and adds its kept purchases to rd.
func (rd *reader) read(r io.Reader, name string) error {
	rd.stats.Files++
	perr := func(line int, field string, err error) error {
		return &ParseError{File: name, Line: line, Field: field, Err: err}
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		if err == io.EOF {
			return perr(1, "", errors.New("empty file, not a gzip stream"))
		}
		return perr(1, "", fmt.Errorf("not a gzip file: %w", err))
	}
	defer zr.Close()

	cr := csv.NewReader(zr)
	cr.FieldsPerRecord = -1 // checked below, for a clearer message
	cr.ReuseRecord = true

	// streamErr turns an error from cr.Read into a *ParseError; line is the
	// line after the last complete record.
	streamErr := func(line int, err error) error {
		var ce *csv.ParseError
		switch {
		case errors.As(err, &ce):
			return perr(ce.Line, "", ce.Err)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return perr(line, "", fmt.Errorf("truncated gzip stream: %w", err))
		default:
			return perr(line, "", fmt.Errorf("reading gzip stream: %w", err))
		}
	}

	rec, err := cr.Read()
	if err == io.EOF {
		return perr(1, "", errors.New("missing header"))
	}
	if err != nil {
		return streamErr(1, err)
	}
	if len(rec) > 0 {
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
	}
	if got := strings.Join(rec, ","); got != Header {
		return perr(1, "", fmt.Errorf("wrong header %q, want %q", got, Header))
	}
	lastLine, _ := cr.FieldPos(len(rec) - 1)

	var (
		lastDate string
		lastTime time.Time
	)
	for {
		rec, err = cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return streamErr(lastLine+1, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != numColumns {
			return perr(line, "", fmt.Errorf("wrong number of fields: got %d, want %d", len(rec), numColumns))
		}
		lastLine, _ = cr.FieldPos(numColumns - 1)
		rd.stats.Rows++
		fieldErr := func(col int, err error) error {
			l, _ := cr.FieldPos(col)
			return perr(l, columns[col], err)
		}

		// Every value must be well-formed, even in a row that is dropped.
		invoice := rec[colInvoice]
		if invoice == "" {
			return fieldErr(colInvoice, errors.New("empty invoice number"))
		}
		qty, err := strconv.Atoi(rec[colQuantity])
		if err != nil {
			return fieldErr(colQuantity, fmt.Errorf("invalid integer %q", rec[colQuantity]))
		}
		price, err := strconv.ParseFloat(rec[colPrice], 64)
		if err != nil || math.IsNaN(price) || math.IsInf(price, 0) {
			return fieldErr(colPrice, fmt.Errorf("invalid number %q", rec[colPrice]))
		}
		if rec[colDate] != lastDate || lastDate == "" {
			t, err := time.Parse(DateLayout, rec[colDate])
			if err != nil {
				return fieldErr(colDate, fmt.Errorf("invalid date %q, want the form %q", rec[colDate], DateLayout))
			}
			lastDate, lastTime = strings.Clone(rec[colDate]), t
		}
		customer, err := rd.customer(rec[colCustomer])
		if err != nil {
			return fieldErr(colCustomer, err)
		}

		// The cleaning rules, in order.
		item, isProduct := rd.item(rec[colStockCode])
		var drop DropReason
		switch {
		case customer == "":
			drop = DropNoCustomer
		case invoice[0] == 'C' || invoice[0] == 'c':
			drop = DropCancellation
		case !isProduct:
			drop = DropNotProduct
		case qty <= 0:
			drop = DropNonPositiveQuantity
		case price <= 0:
			drop = DropNonPositivePrice
		}
		if drop != "" {
			rd.stats.Dropped[drop]++
			continue
		}
		rd.stats.Kept++
		rd.add(Purchase{
			Invoice:     rd.intern(invoice),
			Item:        item,
			Description: rd.intern(strings.TrimSpace(rec[colDescription])),
			Quantity:    qty,
			Price:       price,
			Time:        lastTime,
			Customer:    customer,
			Country:     rd.intern(strings.TrimSpace(rec[colCountry])),
		})
	}
}

// customer validates a CustomerID ("17850.0" or "17850", a non-negative
// whole number) and returns it without the decimal part; "" stays "".
func (rd *reader) customer(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	if c, ok := rd.customers[raw]; ok {
		return c, nil
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("invalid customer id %q", raw)
	}
	if f < 0 || f != math.Trunc(f) || f >= 1<<53 {
		return "", fmt.Errorf("customer id %q is not a non-negative whole number", raw)
	}
	c := strconv.FormatInt(int64(f), 10)
	rd.customers[strings.Clone(raw)] = c
	return c, nil
}

// item reports whether raw is a product code and returns its upper-cased,
// interned form.
func (rd *reader) item(raw string) (string, bool) {
	if id, ok := rd.items[raw]; ok {
		return id, true
	}
	if !IsProductCode(raw) {
		return "", false
	}
	id := rd.intern(strings.ToUpper(raw))
	rd.items[strings.Clone(raw)] = id
	return id, true
}

// serviceCodes have a product-shaped code but are charges or services, not
// goods: 23444 "Next Day Carriage", 23574 "PACKING CHARGE" and 23702 "High
// Resolution Image".
var serviceCodes = map[string]bool{"23444": true, "23574": true, "23702": true}

// IsProductCode reports whether code is a product's StockCode: five ASCII
// digits followed by an optional suffix of one or two letters, in either case
// (85123A, 85099B, 15056BL, 85123a). Codes such as POST, M, D, DOT, C2,
// BANK CHARGES, AMAZONFEE, DCGS0003 or gift_0001_20 are not products, nor
// are the few service lines in serviceCodes.
func IsProductCode(code string) bool {
	if len(code) < 5 || len(code) > 7 || serviceCodes[code] {
		return false
	}
	for i := 0; i < 5; i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	for i := 5; i < len(code); i++ {
		c := code[i] | 0x20 // ASCII lower case
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
