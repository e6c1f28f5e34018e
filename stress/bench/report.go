package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

var header = []string{"contender", "prod", "size", "rec B", "records/s", "MB/s", "x zap", "x rsyslog",
	"rec/write", "writer CPU s/M", "writer RSS MiB", "prod CPU s/M", "missing", "torn", "note"}

// find returns the result of a contender for the same producers and size.
func find(results []Result, name string, producers, size int) (Result, bool) {
	for _, r := range results {
		if r.Contender == name && r.Producers == producers && r.Size == size && r.Err == nil && r.Elapsed > 0 {
			return r, true
		}
	}
	return Result{}, false
}

func ratio(r Result, base Result, ok bool) string {
	if !ok || base.RecordsPerSec() == 0 || r.Elapsed == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r.RecordsPerSec()/base.RecordsPerSec())
}

func perMillion(d float64, records int) string {
	if records == 0 || d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", d/float64(records)*1e6)
}

func rows(results []Result) [][]string {
	var out [][]string
	for _, r := range results {
		cells := []string{r.Contender, fmt.Sprint(r.Producers), sizeName(r.Size)}
		if r.Err != nil || r.Elapsed == 0 {
			note := r.Note
			if r.Err != nil {
				note = "error: " + r.Err.Error()
			}
			cells = append(cells, "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", oneLine(note))
			out = append(out, cells)
			continue
		}
		zap, zok := find(results, "zap", r.Producers, r.Size)
		rs, rok := find(results, "rsyslog", r.Producers, r.Size)
		perWrite := "-"
		if r.Writes > 0 {
			perWrite = fmt.Sprintf("%.1f", float64(r.Records)/float64(r.Writes))
		} else if c, _ := contenderByName(r.Contender); c.kind == kindRaw || c.kind == kindNaive || c.kind == kindDirect || c.name == "zap" {
			perWrite = "1"
		}
		cells = append(cells,
			fmt.Sprint(r.Bytes/int64(max(r.Records, 1))),
			fmt.Sprintf("%.0f", r.RecordsPerSec()),
			fmt.Sprintf("%.1f", r.MBPerSec()),
			ratio(r, zap, zok),
			ratio(r, rs, rok),
			perWrite,
			perMillion(r.WriterCPU.Seconds(), r.Records),
			fmt.Sprintf("%.1f", float64(r.WriterRSS)/(1<<20)),
			perMillion(r.ProducerCPU.Seconds(), r.Records),
			fmt.Sprint(r.Missing),
			fmt.Sprint(r.Torn),
			oneLine(r.Note),
		)
		out = append(out, cells)
	}
	return out
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

func sizeName(n int) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// WriteTable writes results as an aligned text table.
func WriteTable(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, c := range rows(results) {
		fmt.Fprintln(tw, strings.Join(c, "\t")+"\t")
	}
	tw.Flush()
}

// WriteMarkdownTable writes results as a Markdown table.
func WriteMarkdownTable(w io.Writer, results []Result) {
	fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
	align := make([]string, len(header))
	for i := range align {
		align[i] = "---:"
	}
	align[0], align[len(align)-1] = "---", "---"
	fmt.Fprintln(w, "|"+strings.Join(align, "|")+"|")
	for _, c := range rows(results) {
		for i := range c {
			c[i] = strings.ReplaceAll(c[i], "|", "\\|")
		}
		fmt.Fprintln(w, "| "+strings.Join(c, " | ")+" |")
	}
}

// WriteContenders describes every contender in results as a Markdown list.
func WriteContenders(w io.Writer, results []Result) {
	seen := map[string]bool{}
	for _, r := range results {
		if seen[r.Contender] {
			continue
		}
		seen[r.Contender] = true
		c, _ := contenderByName(r.Contender)
		fmt.Fprintf(w, "- `%s`: %s\n", c.name, c.desc)
	}
}
