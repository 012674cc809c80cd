package product

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// Limits on what a product may hold. They bound memory and response size.
const (
	MaxNameLen        = 200
	MaxSlugLen        = 120
	MaxDescriptionLen = 10_000
	MaxBrandLen       = 100
	MaxTags           = 50
	MaxTagLen         = 50
	MaxAttributes     = 100
	MaxAttrKeyLen     = 100
	MaxAttrValueLen   = 1000
	MaxImages         = 20
	MaxURLLen         = 2048
	MaxAltLen         = 300
	MaxVariants       = 100
	MaxOptions        = 10
	MaxPrice          = 1_000_000_000_000 // minor units
	MaxStock          = 1_000_000_000
)

var (
	slugPattern = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)
	skuPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// ValidSlug reports whether s is a well-formed slug.
func ValidSlug(s string) bool { return len(s) <= MaxSlugLen && slugPattern.MatchString(s) }

// Slugify derives a slug from a name: lower-case ASCII letters and digits
// separated by single hyphens.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= MaxSlugLen {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// normalize trims and fills defaults before validation.
func (in *Input) normalize() {
	in.Name = strings.TrimSpace(in.Name)
	in.Brand = strings.TrimSpace(in.Brand)
	in.Slug = strings.TrimSpace(in.Slug)
	if in.Slug == "" {
		in.Slug = Slugify(in.Name)
	}
	if in.Status == "" {
		in.Status = StatusDraft
	}
	for i := range in.Variants {
		in.Variants[i].Price.Currency = strings.ToUpper(strings.TrimSpace(in.Variants[i].Price.Currency))
	}
	// The URLs of an uploaded picture are the server's, derived from its
	// hash: what a client sends back with it is replaced.
	for i, img := range in.Images {
		if img.Hash != "" && ValidImageHash(img.Hash) {
			in.Images[i] = UploadedImage(img.Hash, img.Alt)
		}
	}
}

// Validate checks in against the product rules and reports every field at fault.
func (in *Input) Validate() error {
	var v errs.Validation
	v.Check(in.Name != "", "name", "is required")
	v.Check(utf8.RuneCountInString(in.Name) <= MaxNameLen, "name", "must be at most %d characters", MaxNameLen)
	v.Check(ValidSlug(in.Slug), "slug", "must be lower-case letters and digits separated by hyphens, at most %d characters", MaxSlugLen)
	v.Check(utf8.RuneCountInString(in.Description) <= MaxDescriptionLen, "description", "must be at most %d characters", MaxDescriptionLen)
	v.Check(utf8.RuneCountInString(in.Brand) <= MaxBrandLen, "brand", "must be at most %d characters", MaxBrandLen)
	v.Check(in.Category == "" || ValidSlug(in.Category), "category", "must be a category slug")
	switch in.Status {
	case StatusDraft, StatusActive, StatusArchived:
	default:
		v.Add("status", "must be one of draft, active, archived")
	}
	v.Check(len(in.Tags) <= MaxTags, "tags", "must hold at most %d tags", MaxTags)
	for i, t := range in.Tags {
		v.Check(strings.TrimSpace(t) != "" && utf8.RuneCountInString(t) <= MaxTagLen, fmt.Sprintf("tags[%d]", i), "must be 1 to %d characters", MaxTagLen)
	}
	v.Check(len(in.Attributes) <= MaxAttributes, "attributes", "must hold at most %d entries", MaxAttributes)
	for k, val := range in.Attributes {
		v.Check(k != "" && utf8.RuneCountInString(k) <= MaxAttrKeyLen, "attributes."+k, "key must be 1 to %d characters", MaxAttrKeyLen)
		v.Check(utf8.RuneCountInString(val) <= MaxAttrValueLen, "attributes."+k, "value must be at most %d characters", MaxAttrValueLen)
	}
	v.Check(len(in.Images) <= MaxImages, "images", "must hold at most %d images", MaxImages)
	for i, img := range in.Images {
		at := fmt.Sprintf("images[%d]", i)
		if img.Hash != "" {
			v.Check(ValidImageHash(img.Hash), at+".hash", "must be the SHA-256 (64 lower-case hex digits) of an uploaded picture")
			v.Check(!slices.ContainsFunc(in.Images[:i], func(o Image) bool { return o.Hash == img.Hash }), at+".hash", "names a picture the product already has")
		} else {
			v.Check(validImageURL(img.URL), at+".url", "must be an absolute http or https URL of at most %d characters", MaxURLLen)
			v.Check(img.Card == "" && img.Thumbnail == "" && img.Original == "", at, "only an uploaded picture (with a hash) has card, thumbnail and original sizes")
		}
		v.Check(utf8.RuneCountInString(img.Alt) <= MaxAltLen, at+".alt", "must be at most %d characters", MaxAltLen)
	}
	in.validateVariants(&v)
	return v.Err()
}

func (in *Input) validateVariants(v *errs.Validation) {
	switch {
	case len(in.Variants) == 0:
		v.Add("variants", "at least one variant is required")
		return
	case len(in.Variants) > MaxVariants:
		v.Add("variants", "must hold at most %d variants", MaxVariants)
		return
	}
	skus := map[string]bool{}
	optionSets := map[string]bool{}
	currency := ""
	for i, vr := range in.Variants {
		f := fmt.Sprintf("variants[%d]", i)
		if !skuPattern.MatchString(vr.SKU) {
			v.Add(f+".sku", "must be 1 to 64 letters, digits, '.', '_' or '-'")
		} else if skus[vr.SKU] {
			v.Add(f+".sku", "is repeated within the product")
		}
		skus[vr.SKU] = true
		if vr.Price.Amount < 0 {
			v.Add(f+".price.amount", "must not be negative")
		} else if vr.Price.Amount > MaxPrice {
			v.Add(f+".price.amount", "must be at most %d", int64(MaxPrice))
		}
		switch {
		case !IsCurrency(vr.Price.Currency):
			v.Add(f+".price.currency", "must be an ISO 4217 currency code such as EUR or USD")
		case currency == "":
			currency = vr.Price.Currency
		case vr.Price.Currency != currency:
			v.Add(f+".price.currency", "must match the other variants (%s)", currency)
		}
		v.Check(vr.Stock >= 0 && vr.Stock <= MaxStock, f+".stock", "must be between 0 and %d", MaxStock)
		v.Check(len(vr.Options) <= MaxOptions, f+".options", "must hold at most %d options", MaxOptions)
		if len(in.Variants) > 1 {
			key := optionKey(vr.Options)
			if len(vr.Options) == 0 {
				v.Add(f+".options", "are required when a product has several variants")
			} else if optionSets[key] {
				v.Add(f+".options", "repeat another variant's options")
			}
			optionSets[key] = true
		}
		for k, val := range vr.Options {
			v.Check(k != "" && len(k) <= MaxAttrKeyLen && val != "" && len(val) <= MaxAttrKeyLen,
				f+".options."+k, "keys and values must be 1 to %d characters", MaxAttrKeyLen)
		}
	}
}

func optionKey(opts map[string]string) string {
	keys := make([]string, 0, len(opts))
	for k, v := range opts {
		keys = append(keys, k+"\x00"+v)
	}
	slices.Sort(keys)
	return strings.Join(keys, "\x01")
}

func validImageURL(s string) bool {
	if s == "" || len(s) > MaxURLLen {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// normalize trims a category input.
func (in *CategoryInput) normalize() {
	in.Slug = strings.TrimSpace(in.Slug)
	in.Name = strings.TrimSpace(in.Name)
	in.Parent = strings.TrimSpace(in.Parent)
	if in.Slug == "" {
		in.Slug = Slugify(in.Name)
	}
}

// Validate checks a category input.
func (in *CategoryInput) Validate() error {
	var v errs.Validation
	v.Check(in.Name != "", "name", "is required")
	v.Check(utf8.RuneCountInString(in.Name) <= MaxNameLen, "name", "must be at most %d characters", MaxNameLen)
	v.Check(ValidSlug(in.Slug), "slug", "must be lower-case letters and digits separated by hyphens")
	v.Check(in.Parent == "" || ValidSlug(in.Parent), "parent", "must be a category slug")
	v.Check(in.Parent == "" || in.Parent != in.Slug, "parent", "a category cannot be its own parent")
	return v.Err()
}

// Prepare normalizes in (trims, fills the slug and status) and validates it.
func Prepare(in *Input) error {
	in.normalize()
	return in.Validate()
}
