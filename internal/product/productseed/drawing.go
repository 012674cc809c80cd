package productseed

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// The demo catalog's pictures are drawn on the spot: no file ships with
// the binary and nothing is fetched. A category has a colour (its
// department's hue, shifted by section) and a shape (by its place in the
// section); a product's picture shows that shape on a soft background with
// the product's initials (brand and kind) across it.

// Pictures are 4:3, as the console's cards and product pages show them,
// and as wide as the card size: the pipeline then copies them as the full
// and card sizes (sizes are never enlarged) and resamples only the
// thumbnail, which halves their cost. Flat shapes and large letters stay
// sharp enough when a product page shows them a quarter larger.
const (
	pictureWidth  = 480
	pictureHeight = 360
)

type shape int

const (
	circle shape = iota
	roundedSquare
	triangle
	diamond
	hexagon
	pentagon
)

// style is how a category's pictures look.
type style struct {
	hue   float64 // degrees
	shape shape
}

// departmentHues give each department a family of colours.
var departmentHues = map[string]float64{
	"Electronics": 212, "Fashion": 346, "Home": 32, "Sports": 150, "Beauty": 282,
}

// styleOf is the look of the kind-th leaf of the section-th section of
// department d: sections shift the hue, kinds change the shape.
func styleOf(d *department, section, kind int) style {
	return style{
		hue:   math.Mod(departmentHues[d.name]+float64(section-1)*13+360, 360),
		shape: shape((section*4 + kind) % 6),
	}
}

// colour is the style's colour at saturation s and lightness l (0 to 1).
func (st style) colour(s, l float64) color.RGBA { return hsl(st.hue, s, l) }

// productPicture draws a product's picture: the category's shape on a soft
// background, the initials across it.
func productPicture(st style, initials string) *image.RGBA {
	img := background(st)
	cx, cy, r := float32(pictureWidth)/2, float32(pictureHeight)/2, float32(pictureHeight)*0.34
	// A soft shadow below and to the right lifts the shape off the page.
	fill(img, outline(st.shape, cx+r*0.06, cy+r*0.09, r), st.colour(0.30, 0.84))
	fill(img, outline(st.shape, cx, cy, r), st.colour(0.55, 0.50))
	// Text sits a little lower in a triangle, whose middle is low.
	ty := cy
	if st.shape == triangle {
		ty += r * 0.22
	}
	// The letters fill a shape's middle: less of a narrow one's.
	width := r * 1.2
	if st.shape == triangle || st.shape == diamond {
		width = r
	}
	write(img, initials, cx, ty, width, r*0.6, color.RGBA{255, 255, 255, 255})
	return img
}

// background fills a picture with a gentle vertical gradient of the
// style's palest tints.
func background(st style) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, pictureWidth, pictureHeight))
	top, bottom := st.colour(0.45, 0.96), st.colour(0.35, 0.89)
	for y := range pictureHeight {
		t := float64(y) / float64(pictureHeight-1)
		c := color.RGBA{mix(top.R, bottom.R, t), mix(top.G, bottom.G, t), mix(top.B, bottom.B, t), 255}
		row := img.Pix[y*img.Stride : y*img.Stride+pictureWidth*4]
		for x := 0; x < len(row); x += 4 {
			row[x], row[x+1], row[x+2], row[x+3] = c.R, c.G, c.B, c.A
		}
	}
	return img
}

func mix(a, b uint8, t float64) uint8 { return uint8(math.Round(float64(a)*(1-t) + float64(b)*t)) }

// fill paints a path, anti-aliased. The rasterizer covers the path's
// bounds alone, as its work grows with the pixels it covers.
func fill(img *image.RGBA, p *path, c color.RGBA) {
	r := image.Rect(int(p.minX), int(p.minY), int(p.maxX)+2, int(p.maxY)+2).Intersect(img.Bounds())
	if r.Empty() {
		return
	}
	z := vector.NewRasterizer(r.Dx(), r.Dy())
	ox, oy := float32(r.Min.X), float32(r.Min.Y)
	for _, op := range p.ops {
		switch op.kind {
		case moveTo:
			z.MoveTo(op.pts[0]-ox, op.pts[1]-oy)
		case lineTo:
			z.LineTo(op.pts[0]-ox, op.pts[1]-oy)
		case quadTo:
			z.QuadTo(op.pts[0]-ox, op.pts[1]-oy, op.pts[2]-ox, op.pts[3]-oy)
		case cubeTo:
			z.CubeTo(op.pts[0]-ox, op.pts[1]-oy, op.pts[2]-ox, op.pts[3]-oy, op.pts[4]-ox, op.pts[5]-oy)
		}
	}
	z.ClosePath()
	z.Draw(img, r, image.NewUniform(c), image.Point{})
}

// path is a closed outline, kept with its bounds (those of its control
// points, which hold the curves).
type path struct {
	ops                    []pathOp
	minX, minY, maxX, maxY float32
}

type pathOp struct {
	kind opKind
	pts  [6]float32
}

type opKind int

const (
	moveTo opKind = iota
	lineTo
	quadTo
	cubeTo
)

func (p *path) add(kind opKind, pts ...float32) {
	op := pathOp{kind: kind}
	copy(op.pts[:], pts)
	if len(p.ops) == 0 {
		p.minX, p.minY, p.maxX, p.maxY = pts[0], pts[1], pts[0], pts[1]
	}
	for i := 0; i < len(pts); i += 2 {
		p.minX, p.maxX = min(p.minX, pts[i]), max(p.maxX, pts[i])
		p.minY, p.maxY = min(p.minY, pts[i+1]), max(p.maxY, pts[i+1])
	}
	p.ops = append(p.ops, op)
}

func (p *path) moveTo(x, y float32)                   { p.add(moveTo, x, y) }
func (p *path) lineTo(x, y float32)                   { p.add(lineTo, x, y) }
func (p *path) quadTo(bx, by, cx, cy float32)         { p.add(quadTo, bx, by, cx, cy) }
func (p *path) cubeTo(bx, by, cx, cy, dx, dy float32) { p.add(cubeTo, bx, by, cx, cy, dx, dy) }

// outline is the path of a shape centred on cx, cy, within about r.
func outline(sh shape, cx, cy, r float32) *path {
	p := &path{}
	switch sh {
	case circle:
		// Four cubic Béziers, each a quarter, within 0.03 % of a circle.
		const k = 0.5522847
		p.moveTo(cx+r, cy)
		p.cubeTo(cx+r, cy+k*r, cx+k*r, cy+r, cx, cy+r)
		p.cubeTo(cx-k*r, cy+r, cx-r, cy+k*r, cx-r, cy)
		p.cubeTo(cx-r, cy-k*r, cx-k*r, cy-r, cx, cy-r)
		p.cubeTo(cx+k*r, cy-r, cx+r, cy-k*r, cx+r, cy)
	case roundedSquare:
		roundedPolygon(p, cx, cy, r*1.25, 4, 45, r*0.28)
	case triangle:
		roundedPolygon(p, cx, cy+r*0.22, r*1.3, 3, -90, r*0.18)
	case diamond:
		roundedPolygon(p, cx, cy, r*1.12, 4, -90, r*0.16)
	case hexagon:
		roundedPolygon(p, cx, cy, r*1.05, 6, 0, r*0.16)
	case pentagon:
		roundedPolygon(p, cx, cy+r*0.06, r*1.08, 5, -90, r*0.16)
	}
	return p
}

// roundedPolygon adds a regular polygon of n corners at distance r from
// cx, cy, the first at angle start (degrees, clockwise from three
// o'clock), each corner rounded over length round along its sides.
func roundedPolygon(p *path, cx, cy, r float32, n int, start, round float32) {
	corners := make([][2]float32, n)
	for i := range corners {
		a := float64(start)*math.Pi/180 + 2*math.Pi*float64(i)/float64(n)
		corners[i] = [2]float32{cx + r*float32(math.Cos(a)), cy + r*float32(math.Sin(a))}
	}
	// toward returns the point at distance d from p in the direction of q.
	toward := func(p, q [2]float32, d float32) (float32, float32) {
		dx, dy := q[0]-p[0], q[1]-p[1]
		l := float32(math.Hypot(float64(dx), float64(dy)))
		return p[0] + dx*d/l, p[1] + dy*d/l
	}
	for i, c := range corners {
		prev, next := corners[(i+n-1)%n], corners[(i+1)%n]
		ax, ay := toward(c, prev, round)
		bx, by := toward(c, next, round)
		if i == 0 {
			p.moveTo(ax, ay)
		} else {
			p.lineTo(ax, ay)
		}
		p.quadTo(c[0], c[1], bx, by)
	}
}

// bold is the Go Bold font, parsed once; faces made from it are not safe
// for concurrent use, so each drawing makes its own.
var bold = sync.OnceValue(func() *opentype.Font {
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		panic(err) // the font is compiled in: it always parses
	}
	return f
})

// write draws text centred on cx, cy (across by the ink of its letters,
// down by the height of a capital), as large as fits in
// maxWidth×maxHeight, maxHeight being that of a capital.
func write(img *image.RGBA, text string, cx, cy, maxWidth, maxHeight float32, c color.RGBA) {
	const ref = 100
	b, _ := font.BoundString(faceOf(ref), text)
	size := ref * min(maxWidth/fixedFloat(b.Max.X-b.Min.X), maxHeight/capHeight(faceOf(ref)))
	face := faceOf(size)
	b, _ = font.BoundString(face, text)
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face}
	d.Dot = fixed.Point26_6{
		X: fixed.Int26_6((cx-fixedFloat(b.Max.X-b.Min.X)/2)*64) - b.Min.X,
		Y: fixed.Int26_6((cy + capHeight(face)/2) * 64),
	}
	d.DrawString(text)
}

// capHeight is how tall a capital letter of face is, in pixels.
func capHeight(face font.Face) float32 {
	b, _, _ := face.GlyphBounds('H')
	return fixedFloat(b.Max.Y - b.Min.Y)
}

func faceOf(size float32) font.Face {
	face, err := opentype.NewFace(bold(), &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		panic(err) // only a size that is not positive fails
	}
	return face
}

func fixedFloat(v fixed.Int26_6) float32 { return float32(v) / 64 }

// hsl converts a colour from hue (degrees), saturation and lightness.
func hsl(h, s, l float64) color.RGBA {
	c := (1 - math.Abs(2*l-1)) * s
	hp := h / 60
	x := c * (1 - math.Abs(math.Mod(hp, 2)-1))
	var r, g, b float64
	switch {
	case hp < 1:
		r, g = c, x
	case hp < 2:
		r, g = x, c
	case hp < 3:
		g, b = c, x
	case hp < 4:
		g, b = x, c
	case hp < 5:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	to := func(v float64) uint8 { return uint8(math.Round((v + m) * 255)) }
	return color.RGBA{to(r), to(g), to(b), 255}
}

// encodeJPEG is how a drawn picture enters the upload pipeline: as the
// original a person would upload.
func encodeJPEG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
