package catalogio

import (
	"bytes"
	"testing"
)

// FuzzReaders: whatever bytes a file holds, reading it ends (with items,
// each a product or a line's problem, and at most one error for the file)
// and never panics.
func FuzzReaders(f *testing.F) {
	f.Add([]byte(`{"slug":"a","name":"A","variants":[{"sku":"A-1","price":{"amount":1,"currency":"EUR"},"stock":1}]}` + "\n{bad\n"))
	f.Add([]byte("slug,name,sku,price,currency\na,A,A-1,1,EUR\na,,A-2,2,EUR\n\"b,B\n"))
	f.Add([]byte("\ufeffslug,name,sku,price,currency,options,tags,images\nx,X,X-1,abc,EUR,{,[,[\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, rd := range []reader{newNDJSONReader(bytes.NewReader(data)), newCSVReader(bytes.NewReader(data))} {
			for n := 0; ; n++ {
				if n > len(data)+1 {
					t.Fatalf("%T read more items than the file has bytes", rd)
				}
				if _, err := rd.next(); err != nil {
					break // the end (io.EOF) or the file's fault
				}
			}
		}
	})
}
