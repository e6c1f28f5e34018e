package bench

import (
	"fmt"
	"image/color"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// palette has one colour per contender, in contender order.
var palette = []color.Color{
	color.RGBA{0, 0, 0, 255}, color.RGBA{110, 110, 110, 255}, color.RGBA{160, 160, 160, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{31, 119, 180, 255}, color.RGBA{23, 190, 207, 255}, color.RGBA{44, 160, 44, 255}, color.RGBA{148, 103, 189, 255},
	color.RGBA{255, 127, 14, 255}, color.RGBA{227, 119, 194, 255}, color.RGBA{188, 189, 34, 255}, color.RGBA{255, 187, 120, 255},
}

// WriteChart draws records per second against record size, one line per
// contender and one panel per producer count (log scales), into a PNG file.
func WriteChart(path string, results []Result) error {
	var producers, sizes []int
	for _, r := range results {
		if !slices.Contains(producers, r.Producers) {
			producers = append(producers, r.Producers)
		}
		if !slices.Contains(sizes, r.Size) {
			sizes = append(sizes, r.Size)
		}
	}
	slices.Sort(producers)
	slices.Sort(sizes)
	if len(producers) == 0 {
		return fmt.Errorf("no results to draw")
	}
	var ticks []plot.Tick
	for _, s := range sizes {
		ticks = append(ticks, plot.Tick{Value: float64(s), Label: sizeName(s)})
	}
	var plots []*plot.Plot
	for i, p := range producers {
		pl := plot.New()
		pl.Title.Text = fmt.Sprintf("%d producer process%s", p, map[bool]string{true: "", false: "es"}[p == 1])
		pl.X.Label.Text = "record size"
		pl.Y.Label.Text = "records/s"
		pl.X.Scale, pl.Y.Scale = plot.LogScale{}, plot.LogScale{}
		pl.X.Tick.Marker = plot.ConstantTicks(ticks)
		pl.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		pl.Add(plotter.NewGrid())
		pl.Legend.Top = false
		pl.Legend.Left = true
		pl.Legend.TextStyle.Font.Size = vg.Points(8)
		if len(sizes) == 1 {
			pl.X.Min, pl.X.Max = float64(sizes[0])/2, float64(sizes[0])*2
		}
		for ci, c := range contenders {
			var pts plotter.XYs
			for _, r := range results {
				if r.Contender == c.name && r.Producers == p && r.Err == nil && r.RecordsPerSec() > 0 {
					pts = append(pts, plotter.XY{X: float64(r.Size), Y: r.RecordsPerSec()})
				}
			}
			if len(pts) == 0 {
				continue
			}
			slices.SortFunc(pts, func(a, b plotter.XY) int { return int(a.X - b.X) })
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			col := palette[ci%len(palette)]
			line.Color, points.Color = col, col
			line.Width = vg.Points(1.5)
			points.Shape = shapes[ci%len(shapes)]
			points.Radius = vg.Points(3)
			if c.kind == kindDirect || c.name == "direct-raw" {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			}
			if c.kind == kindZap || c.name == "raw" || c.kind == kindNaive || c.kind == kindRsyslog {
				line.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
			}
			pl.Add(line, points)
			if i == len(producers)-1 {
				pl.Legend.Add(c.name, line, points)
			}
		}
		plots = append(plots, pl)
	}
	const w, h = 7 * vg.Inch, 6 * vg.Inch
	img := vgimg.New(w*vg.Length(len(plots)), h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for j, pl := range plots {
		pl.Draw(canvases[0][j])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var shapes = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PlusGlyph{}, draw.CrossGlyph{},
	draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{},
}
