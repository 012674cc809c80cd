package search

import "sort"

// categoryTree is the catalog's category tree as the search index knows it
// from category events. It is immutable: a change builds a new tree, so
// searches read it without locking.
type categoryTree struct {
	records  map[string]categoryRecord
	parent   map[string]string   // slug -> parent slug ("" for a root)
	children map[string][]string // slug -> child slugs
}

// categoryRecord is how the tree is persisted in the index's internal storage.
type categoryRecord struct {
	Name   string `json:"name,omitempty"`
	Parent string `json:"parent,omitempty"`
}

func newCategoryTree(records map[string]categoryRecord) *categoryTree {
	t := &categoryTree{records: records, parent: make(map[string]string, len(records)), children: map[string][]string{}}
	for slug, r := range records {
		t.parent[slug] = r.Parent
		if r.Parent != "" {
			t.children[r.Parent] = append(t.children[r.Parent], slug)
		}
	}
	for _, c := range t.children {
		sort.Strings(c)
	}
	return t
}

// with returns a new tree with slug set to r, or removed when r is nil.
func (t *categoryTree) with(slug string, r *categoryRecord) *categoryTree {
	records := make(map[string]categoryRecord, len(t.records)+1)
	for k, v := range t.records {
		records[k] = v
	}
	if r == nil {
		delete(records, slug)
	} else {
		records[slug] = *r
	}
	return newCategoryTree(records)
}

// subtree returns slug and all its descendants. A slug the tree does not
// know is still returned: products may name a category whose event has not
// arrived yet.
func (t *categoryTree) subtree(slug string) []string {
	out := []string{slug}
	seen := map[string]bool{slug: true}
	for i := 0; i < len(out); i++ {
		for _, c := range t.children[out[i]] {
			if !seen[c] { // a cycle in bad data must not loop forever
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// ancestors returns the parents of slug up to its root, nearest first.
func (t *categoryTree) ancestors(slug string) []string {
	var out []string
	seen := map[string]bool{slug: true}
	for p := t.parent[slug]; p != "" && !seen[p]; p = t.parent[p] {
		seen[p] = true
		out = append(out, p)
	}
	return out
}
