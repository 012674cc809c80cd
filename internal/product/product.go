// Package product is the catalog's source of truth: products, their
// variants and the category tree. It owns the domain types, the rules that
// keep them valid and the Store interface its adapters implement.
package product

import (
	"github.com/vitrine-dev/vitrine/internal/events"
)

// Statuses of a product. Only active products are visible to the public.
const (
	StatusDraft    = "draft"
	StatusActive   = "active"
	StatusArchived = "archived"
)

// The product's shape is the one the catalog events carry: it is defined
// once, in package events.
type (
	// Money is an amount in minor units (cents) of an ISO 4217 currency.
	Money = events.Money
	// PriceRange is derived from a product's variants.
	PriceRange = events.PriceRange
	// Image is one picture of a product, in display order.
	Image = events.Image
	// Variant is one purchasable form of a product (size, colour...). A
	// product without options has exactly one variant.
	Variant = events.Variant
)

// Product is the full representation served by the API, and the snapshot
// its catalog events carry.
type Product events.Product

// Snapshot returns p as carried by a catalog event.
func (p *Product) Snapshot() *events.Product {
	s := events.Product(*p)
	return &s
}

// Input holds the fields a client may write. Everything else (id, derived
// price, counters, version, timestamps) is the server's: a body naming them
// is rejected as having unknown fields, so they cannot be mass-assigned.
type Input struct {
	Slug        string            `json:"slug,omitempty"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Brand       string            `json:"brand,omitempty"`
	Category    string            `json:"category,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Status      string            `json:"status,omitempty"`
	Images      []Image           `json:"images,omitempty"`
	Variants    []Variant         `json:"variants"`
}

// InputOf returns the writable part of p, the document a merge patch applies to.
func InputOf(p *Product) Input {
	return Input{
		Slug: p.Slug, Name: p.Name, Description: p.Description, Brand: p.Brand,
		Category: p.Category, Tags: p.Tags, Attributes: p.Attributes, Status: p.Status,
		Images: p.Images, Variants: p.Variants,
	}
}

// apply copies in onto p and recomputes the derived fields.
func (p *Product) apply(in Input) {
	p.Slug, p.Name, p.Description, p.Brand = in.Slug, in.Name, in.Description, in.Brand
	p.Category, p.Status = in.Category, in.Status
	p.Tags = nonNil(in.Tags)
	p.Attributes = in.Attributes
	if p.Attributes == nil {
		p.Attributes = map[string]string{}
	}
	p.Images = nonNil(in.Images)
	p.Variants = in.Variants
	for i := range p.Variants {
		if p.Variants[i].Options == nil {
			p.Variants[i].Options = map[string]string{}
		}
	}
	p.Derive()
}

// Derive computes price and in_stock from the variants, and the thumbnail
// from the images.
func (p *Product) Derive() {
	p.Price, p.InStock = events.Derive(p.Variants)
	p.Thumbnail = events.Thumbnail(p.Images)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Category is a node of the category tree.
type Category struct {
	Slug     string      `json:"slug"`
	Name     string      `json:"name"`
	Parent   string      `json:"parent,omitempty"`
	Children []*Category `json:"children,omitempty"`
}

// CategoryInput holds the writable fields of a category.
type CategoryInput struct {
	Slug   string `json:"slug"`
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
}
