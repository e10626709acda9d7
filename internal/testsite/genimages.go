//go:build ignore

// genimages draws the testsite's small images. Its outputs are committed; run it again only to change
// them:
//
//	go run ./internal/testsite/genimages.go
//
// (from the repository root). Standard library only, no randomness, so it is reproducible on one
// platform (float rounding may differ by a pixel elsewhere, which does not matter: the files are committed).
package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	dir := "testsite"
	if _, err := os.Stat(filepath.Join(dir, "hugo.toml")); err != nil {
		log.Fatal("run from the repository root: ", err)
	}
	out := []struct {
		path string
		img  image.Image
	}{
		{"static/images/logo.png", creature(96, 12, 0.42, color.NRGBA{11, 122, 117, 255}, false)},
		{"static/favicon.png", creature(32, 8, 0.40, color.NRGBA{11, 122, 117, 255}, false)},
		{"static/images/banner.jpg", banner(640, 160)},
		{"content/gallery/diatom/diatom.png", creature(240, 24, 0.40, color.NRGBA{196, 152, 40, 255}, true)},
		{"content/gallery/copepod/copepod.jpg", copepod(320, 200)},
		{"content/gallery/radiolarian/radiolarian.png", creature(240, 18, 0.45, color.NRGBA{180, 60, 120, 255}, true)},
		{"content/gallery/radiolarian/radiolarian-night.jpg", night(creature(240, 18, 0.45, color.NRGBA{120, 220, 255, 255}, true))},
	}
	total := 0
	for _, o := range out {
		var buf bytes.Buffer
		var err error
		if strings.HasSuffix(o.path, ".png") {
			enc := png.Encoder{CompressionLevel: png.BestCompression}
			err = enc.Encode(&buf, o.img)
		} else {
			err = jpeg.Encode(&buf, o.img, &jpeg.Options{Quality: 70})
		}
		if err != nil {
			log.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(o.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
		total += buf.Len()
		fmt.Printf("%7d  %s\n", buf.Len(), p)
	}
	fmt.Printf("%7d  total\n", total)
}

// creature draws a radially symmetric "plankton": a ring with n spokes on a transparent (or, with
// filled, a pale) background, anti-aliased by 4x4 supersampling.
func creature(size, n int, r float64, c color.NRGBA, filled bool) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	s := float64(size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			hits := 0
			for sy := 0; sy < 4; sy++ {
				for sx := 0; sx < 4; sx++ {
					fx := (float64(x)+(float64(sx)+0.5)/4)/s - 0.5
					fy := (float64(y)+(float64(sy)+0.5)/4)/s - 0.5
					d := math.Hypot(fx, fy)
					a := math.Atan2(fy, fx)
					ring := math.Abs(d-r*0.7) < 0.035
					spoke := d < r && math.Abs(math.Sin(a*float64(n)/2)) < 0.12 && d > r*0.25
					core := d < r*0.18
					if ring || spoke || core {
						hits++
					}
				}
			}
			alpha := uint8(hits * 255 / 16)
			if filled {
				bg := color.NRGBA{236, 246, 245, 255}
				img.SetNRGBA(x, y, mix(bg, c, float64(hits)/16))
			} else {
				img.SetNRGBA(x, y, color.NRGBA{c.R, c.G, c.B, alpha})
			}
		}
	}
	return img
}

// banner is a sea-colored vertical gradient with a few translucent blobs.
func banner(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	top := color.NRGBA{160, 220, 215, 255}
	bottom := color.NRGBA{10, 60, 90, 255}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := mix(top, bottom, float64(y)/float64(h-1))
			for i := 0; i < 9; i++ {
				cx := float64(w) * (0.05 + 0.11*float64(i))
				cy := float64(h) * (0.3 + 0.4*math.Abs(math.Sin(float64(i)*1.7)))
				rad := 8 + 6*math.Abs(math.Cos(float64(i)*2.3))
				if d := math.Hypot(float64(x)-cx, float64(y)-cy); d < rad {
					c = mix(c, color.NRGBA{255, 255, 240, 255}, 0.6*(1-d/rad))
				}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// copepod is an elongated body with two long antennae on a pale background.
func copepod(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	bg := color.NRGBA{240, 248, 250, 255}
	body := color.NRGBA{200, 90, 40, 255}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx := (float64(x) - float64(w)*0.55) / (float64(w) * 0.22)
			fy := (float64(y) - float64(h)*0.5) / (float64(h) * 0.16)
			e := fx*fx + fy*fy
			t := 0.0
			if e < 1 {
				t = 1 - e*e
			}
			// antennae: two arcs from the head towards the left
			for _, sgn := range []float64{-1, 1} {
				ax := float64(x) / float64(w)
				ay := 0.5 + sgn*0.45*math.Pow(math.Max(0, 0.4-ax)/0.4, 0.7)
				if ax < 0.4 && math.Abs(float64(y)/float64(h)-ay) < 0.012 {
					t = math.Max(t, 0.9)
				}
			}
			img.SetNRGBA(x, y, mix(bg, body, t))
		}
	}
	return img
}

// night inverts the background brightness: a dark variant of the same image.
func night(src image.Image) image.Image {
	b := src.Bounds()
	img := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
			img.SetNRGBA(x, y, color.NRGBA{c.R / 3, c.G / 2, 40 + c.B/2, 255})
		}
	}
	return img
}

func mix(a, b color.NRGBA, t float64) color.NRGBA {
	t = math.Max(0, math.Min(1, t))
	l := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + (float64(y)-float64(x))*t)) }
	return color.NRGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), l(a.A, b.A)}
}
