package dataset

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files under testdata/ are generated from the texts below by
//
//	go test ./dataset -run TestTestdataFiles -update
//
// and committed. Without -update, TestTestdataFiles checks that the committed
// files still hold these texts.
var update = flag.Bool("update", false, "rewrite the files under testdata/")

const hdr = Header + "\n"

// goodFiles make up testdata/good/, a directory ReadDir reads as a whole.
var goodFiles = map[string]string{
	// With a byte order mark, CRLF line ends and one row per rule.
	"online_retail_2010-12.csv.gz": strings.ReplaceAll("\ufeff"+hdr+
		"536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"+ // 2 kept
		"536365,85123a,\"HEART, WHITE  \",2,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"+ // 3 kept as 85123A
		"536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom\n"+ // 4 no_customer
		"C536379,22556,PLASTERS IN TIN CIRCUS PARADE,-12,2010-12-01 09:41:00,1.65,14527.0,United Kingdom\n"+ // 5 cancellation
		"536370,POST,POSTAGE,3,2010-12-01 08:45:00,18.00,12583.0,France\n"+ // 6 not_a_product
		"536370,15056bl,EDWARDIAN PARASOL BLACK,1,2010-12-01 08:45:00,5.95,12583,France\n"+ // 7 kept as 15056BL
		"536371,22139,,-5,2010-12-01 09:00:00,0.00,12583.0,France\n"+ // 8 non_positive_quantity
		"536372,22139,RETROSPOT TEA SET CERAMIC 11 PC,4,2010-12-01 09:01:00,0.00,13047.0,United Kingdom\n"+ // 9 non_positive_price
		"536373,BANK CHARGES,Bank Charges,1,2010-12-01 09:02:00,15.00,13047.0,United Kingdom\n"+ // 10 not_a_product
		"A563185,B,Adjust bad debt,1,2010-12-01 09:03:00,11062.06,,United Kingdom\n"+ // 11 no_customer
		"536374,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,2010-12-01 09:04:00,17.02,14911.0,EIRE\n"+ // 12 not_a_product
		"536375,DCGS0003,BOXED GLASS ASHTRAY,1,2010-12-01 09:05:00,2.51,14911.0,EIRE\n"+ // 13 not_a_product
		"536376,123456,SIX DIGITS,1,2010-12-01 09:06:00,1.00,14911.0,EIRE\n"+ // 14 not_a_product
		"536376,1234A,FOUR DIGITS,1,2010-12-01 09:06:00,1.00,14911.0,EIRE\n"+ // 15 not_a_product
		"536376,85123ABC,THREE LETTERS,1,2010-12-01 09:06:00,1.00,14911.0,EIRE\n"+ // 16 not_a_product
		"536377,85099B,JUMBO BAG RED RETROSPOT,10,2010-12-01 10:00:00,1.95,17850.0,United Kingdom\n"+ // 17 kept
		"C536378,POST,POSTAGE,-1,2010-12-01 10:01:00,18.00,12583.0,France\n"+ // 18 cancellation
		"536380,M,Manual,-1,2010-12-01 10:02:00,0.00,,United Kingdom\n", // 19 no_customer
		"\n", "\r\n"),
	"online_retail_2011-01.csv.gz": hdr +
		"539993,22386,JUMBO BAG PINK POLKADOT,10,2011-01-04 10:00:00,1.95,13313.0,United Kingdom\n" +
		"539993,21499,BLUE POLKADOT WRAP,25,2011-01-04 10:00:00,0.42,13313,United Kingdom\n",
	"README.txt": "Not a *.csv.gz file: ReadDir ignores it.\n",
}

// goodRow is a well-formed row that is kept.
const goodRow = "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"

// badFiles make up testdata/bad/; each one's error is checked by TestReadErrors.
// The malformed values sit in rows that would otherwise be dropped.
var badFiles = map[string]string{
	"wrong_header.csv.gz": "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n" + goodRow,
	"bad_quantity.csv.gz": hdr + goodRow + goodRow +
		"536366,22633,HAND WARMER UNION JACK,six,2010-12-01 08:28:00,1.85,,United Kingdom\n",
	"bad_price.csv.gz": hdr + goodRow + goodRow + goodRow +
		"C536379,22556,PLASTERS IN TIN CIRCUS PARADE,-12,2010-12-01 09:41:00,abc,14527.0,United Kingdom\n",
	"bad_date.csv.gz": hdr + goodRow +
		"536370,POST,POSTAGE,3,01/12/2010 08:45,18.00,12583.0,France\n",
	"bad_customer.csv.gz": hdr + goodRow + goodRow +
		"536371,22139,RETROSPOT TEA SET,-5,2010-12-01 09:00:00,4.95,12583.5,France\n",
	"bad_customer_text.csv.gz": hdr + goodRow +
		"536371,22139,RETROSPOT TEA SET,5,2010-12-01 09:00:00,4.95,C12583,France\n",
	"short_row.csv.gz": hdr + goodRow + goodRow + goodRow + goodRow +
		"536371,22139,RETROSPOT TEA SET,5,2010-12-01 09:00:00,4.95,12583.0\n",
	"bad_quote.csv.gz": hdr + goodRow +
		"536371,22139,RETROSPOT \"TEA\" SET,5,2010-12-01 09:00:00,4.95,12583.0,France\n",
	"empty_gzip.csv.gz": "",
	"truncated.csv.gz":  truncatedText(),
}

// truncatedText is a long, varied file that truncated.csv.gz holds the
// first part of.
func truncatedText() string {
	var b strings.Builder
	b.WriteString(hdr)
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&b, "%d,%05d,ITEM NUMBER %d,%d,2010-12-01 %02d:%02d:00,%d.%02d,%d.0,United Kingdom\n",
			536365+i/7, 20000+i*37%9000, i*i%1000, 1+i%24, 8+i%10, i%60, i%9, i*13%100, 12346+i*31%3000)
	}
	return b.String()
}

// truncatedAt returns how much of the compressed truncated.csv.gz is kept.
func truncatedAt(compressed []byte) int { return len(compressed) / 2 }

// rawFiles are committed as they are, not gzip-compressed.
var rawFiles = map[string]string{
	"not_gzip.csv.gz": hdr + goodRow,
	"empty.csv.gz":    "",
}

func gzipText(t testing.TB, s string) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Name = "" // no name, no time: deterministic bytes
	if _, err := io.WriteString(zw, s); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gunzipText(t testing.TB, b []byte) string {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestTestdataFiles writes (with -update) or checks the files under testdata/.
func TestTestdataFiles(t *testing.T) {
	type file struct {
		dir, name, text string
		gz              bool
	}
	var files []file
	for n, s := range goodFiles {
		files = append(files, file{"good", n, s, strings.HasSuffix(n, ".gz")})
	}
	for n, s := range badFiles {
		files = append(files, file{"bad", n, s, true})
	}
	for n, s := range rawFiles {
		files = append(files, file{"bad", n, s, false})
	}
	for _, f := range files {
		path := filepath.Join("testdata", f.dir, f.name)
		if *update {
			b := []byte(f.text)
			if f.gz {
				b = gzipText(t, f.text)
			}
			if f.name == "truncated.csv.gz" {
				b = b[:truncatedAt(b)]
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to generate)", err)
		}
		got := string(b)
		switch {
		case f.name == "truncated.csv.gz":
			continue // checked by TestReadErrors
		case f.gz:
			got = gunzipText(t, b)
		}
		if got != f.text {
			t.Errorf("%s does not hold its text; run with -update", path)
		}
	}
}
