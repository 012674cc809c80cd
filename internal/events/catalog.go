package events

import (
	"errors"
	"strings"
	"time"
)

// Money is an amount in minor units (cents) of an ISO 4217 currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// PriceRange is derived from a product's variants.
type PriceRange struct {
	Min      int64  `json:"min"`
	Max      int64  `json:"max"`
	Currency string `json:"currency"`
}

// Image is one picture of a product, in display order. A linked picture
// is a URL held elsewhere; an uploaded one is named by the SHA-256 of its
// original (Hash), and the product service serves it in every size.
type Image struct {
	URL       string `json:"url"` // the full size
	Alt       string `json:"alt"`
	Hash      string `json:"hash,omitempty"`      // uploaded pictures only
	Card      string `json:"card,omitempty"`      // uploaded pictures only
	Thumbnail string `json:"thumbnail,omitempty"` // uploaded pictures only
	Original  string `json:"original,omitempty"`  // uploaded pictures only
}

// Thumbnail returns the URL of the small picture that listings and search
// results show: the first image's thumbnail, or the first image itself
// when it is linked rather than uploaded; "" without images.
func Thumbnail(images []Image) string {
	if len(images) == 0 {
		return ""
	}
	if images[0].Thumbnail != "" {
		return images[0].Thumbnail
	}
	return images[0].URL
}

// Variant is one purchasable form of a product (size, colour...).
type Variant struct {
	SKU     string            `json:"sku"`
	Options map[string]string `json:"options"`
	Price   Money             `json:"price"`
	Stock   int64             `json:"stock"`
}

// Derive returns what a product's variants imply: its price range and
// whether any of them is in stock. The publisher computes them once;
// consumers read them from the snapshot.
func Derive(variants []Variant) (price PriceRange, inStock bool) {
	for i, v := range variants {
		if i == 0 || v.Price.Amount < price.Min {
			price.Min = v.Price.Amount
		}
		if i == 0 || v.Price.Amount > price.Max {
			price.Max = v.Price.Amount
		}
		price.Currency = v.Price.Currency
		inStock = inStock || v.Stock > 0
	}
	return price, inStock
}

// Product is the snapshot of a product carried by an upsert: the product
// service's full representation, derived fields included.
type Product struct {
	ID          string            `json:"id"`
	Slug        string            `json:"slug"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Brand       string            `json:"brand"`
	Category    string            `json:"category"`
	Tags        []string          `json:"tags"`
	Attributes  map[string]string `json:"attributes"`
	Status      string            `json:"status"`
	Images      []Image           `json:"images"`
	Thumbnail   string            `json:"thumbnail,omitempty"` // Thumbnail(Images)
	Variants    []Variant         `json:"variants"`
	Price       PriceRange        `json:"price"`
	InStock     bool              `json:"in_stock"`
	SalesCount  int64             `json:"sales_count"`
	ViewCount   int64             `json:"view_count"`
	Version     int64             `json:"version"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// ProductChanged says a product was created, replaced or deleted; an
// upsert carries the product. A delete carries the version after the
// product's last one.
//
// Subject: ProductSubjectPrefix + ID, on CatalogStream.
type ProductChanged struct {
	Schema  int       `json:"schema,omitempty"`
	Op      string    `json:"op"`
	ID      string    `json:"id"`
	Version int64     `json:"version"`
	Product *Product  `json:"product,omitempty"`
	At      time.Time `json:"at"`
}

func (e *ProductChanged) schemaVersion() *int { return &e.Schema }

func (e *ProductChanged) check() error {
	if e.ID == "" {
		return errors.New("product event without an id")
	}
	if err := checkOp(e.Op); err != nil {
		return err
	}
	if e.Op == OpUpsert && e.Product == nil {
		return errors.New("product upsert without its product")
	}
	return nil
}

// Subject is where the event is published.
func (e ProductChanged) Subject() string { return ProductSubjectPrefix + e.ID }

// Encode returns the payload of e.
func (e ProductChanged) Encode() ([]byte, error) { return encode(&e) }

// DecodeProductChanged reads a product event; errors wrap ErrUndecodable.
func DecodeProductChanged(data []byte) (ProductChanged, error) {
	var e ProductChanged
	return e, decode(data, &e)
}

// CategoryChanged says a category was created, changed or deleted.
//
// Subject: CategorySubjectPrefix + Slug, on CatalogStream.
type CategoryChanged struct {
	Schema int       `json:"schema,omitempty"`
	Op     string    `json:"op"`
	Slug   string    `json:"slug"`
	Name   string    `json:"name,omitempty"`
	Parent string    `json:"parent,omitempty"`
	At     time.Time `json:"at"`
}

func (e *CategoryChanged) schemaVersion() *int { return &e.Schema }

func (e *CategoryChanged) check() error {
	if e.Slug == "" {
		return errors.New("category event without a slug")
	}
	return checkOp(e.Op)
}

// Subject is where the event is published.
func (e CategoryChanged) Subject() string { return CategorySubjectPrefix + e.Slug }

// Encode returns the payload of e.
func (e CategoryChanged) Encode() ([]byte, error) { return encode(&e) }

// DecodeCategoryChanged reads a category event; errors wrap ErrUndecodable.
func DecodeCategoryChanged(data []byte) (CategoryChanged, error) {
	var e CategoryChanged
	return e, decode(data, &e)
}

// Catalog is one message of the catalog stream: exactly one of Product and
// Category is set.
type Catalog struct {
	Product  *ProductChanged
	Category *CategoryChanged
}

// DecodeCatalog reads a catalog message by its subject (without the
// deployment prefix).
func DecodeCatalog(subject string, data []byte) (Catalog, error) {
	switch {
	case strings.HasPrefix(subject, ProductSubjectPrefix):
		e, err := DecodeProductChanged(data)
		return Catalog{Product: &e}, err
	case strings.HasPrefix(subject, CategorySubjectPrefix):
		e, err := DecodeCategoryChanged(data)
		return Catalog{Category: &e}, err
	}
	return Catalog{}, errors.Join(ErrUndecodable, errors.New("not a catalog subject: "+subject))
}
