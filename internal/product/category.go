package product

import (
	"context"
	"sort"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Tree arranges a flat list of categories into trees, children sorted by name.
func Tree(flat []Category) []*Category {
	nodes := make(map[string]*Category, len(flat))
	for _, c := range flat {
		c := c
		c.Children = nil
		nodes[c.Slug] = &c
	}
	var roots []*Category
	for _, c := range flat {
		n := nodes[c.Slug]
		if parent, ok := nodes[c.Parent]; ok && c.Parent != "" {
			parent.Children = append(parent.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	var sortAll func([]*Category)
	sortAll = func(list []*Category) {
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		for _, n := range list {
			sortAll(n.Children)
		}
	}
	sortAll(roots)
	return roots
}

// Descendants returns slug and the slugs of all categories below it, or nil
// when slug is unknown.
func Descendants(flat []Category, slug string) []string {
	children := map[string][]string{}
	known := false
	for _, c := range flat {
		children[c.Parent] = append(children[c.Parent], c.Slug)
		known = known || c.Slug == slug
	}
	if !known {
		return nil
	}
	// A tree read while another write moved a category could hold a
	// cycle: each slug is visited once.
	out := []string{slug}
	seen := map[string]bool{slug: true}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i]] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// Categories returns the category tree.
func (s *Service) Categories(ctx context.Context) ([]*Category, error) {
	flat, err := s.store.Categories(ctx)
	if err != nil {
		return nil, err
	}
	return Tree(flat), nil
}

// Category returns one category with its subtree.
func (s *Service) Category(ctx context.Context, slug string) (*Category, error) {
	flat, err := s.store.Categories(ctx)
	if err != nil {
		return nil, err
	}
	for _, root := range Tree(flat) {
		if c := find(root, slug); c != nil {
			return c, nil
		}
	}
	return nil, errs.New(errs.KindNotFound, "category %q not found", slug)
}

func find(n *Category, slug string) *Category {
	if n.Slug == slug {
		return n
	}
	for _, c := range n.Children {
		if f := find(c, slug); f != nil {
			return f
		}
	}
	return nil
}

// CreateCategory adds a category under an existing parent.
func (s *Service) CreateCategory(ctx context.Context, in CategoryInput) (*Category, error) {
	in.normalize()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := Category{Slug: in.Slug, Name: in.Name, Parent: in.Parent}
	if err := s.store.CreateCategory(ctx, c); err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateCategory renames a category or moves it under another parent. Its
// slug is its identity and does not change.
func (s *Service) UpdateCategory(ctx context.Context, slug string, in CategoryInput) (*Category, error) {
	in.normalize()
	if in.Slug != slug {
		return nil, &errs.Error{Kind: errs.KindInvalid, Msg: "the request has invalid fields",
			Fields: []errs.FieldError{{Field: "slug", Detail: "must equal the slug in the path; a category's slug cannot change"}}}
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := Category{Slug: slug, Name: in.Name, Parent: in.Parent}
	if err := s.store.UpdateCategory(ctx, slug, c); err != nil {
		return nil, err
	}
	return &c, nil
}

// CheckParent insists that parent exists and is not slug itself or below
// it in flat. Stores call it inside the transaction that writes the
// category, so that concurrent moves cannot make a cycle.
func CheckParent(flat []Category, slug, parent string) error {
	if parent == "" {
		return nil
	}
	below := Descendants(flat, slug)
	for _, d := range below {
		if d == parent {
			return &errs.Error{Kind: errs.KindInvalid, Msg: "the request has invalid fields",
				Fields: []errs.FieldError{{Field: "parent", Detail: "would make a cycle"}}}
		}
	}
	if Descendants(flat, parent) == nil {
		return &errs.Error{Kind: errs.KindInvalid, Msg: "the request has invalid fields",
			Fields: []errs.FieldError{{Field: "parent", Detail: "no category has this slug"}}}
	}
	return nil
}

// DeleteCategory removes an empty leaf category.
func (s *Service) DeleteCategory(ctx context.Context, slug string) error {
	return s.store.DeleteCategory(ctx, slug)
}
