package stress

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// tableHeader names the columns of the summary table.
var tableHeader = []string{"mode", "procs", "rounds", "records", "MB", "seconds", "records/s", "MB/s",
	"missing", "dup", "torn", "interleaved", "reordered", "partial", "result"}

func tableRow(r *Result) []string {
	secs := r.Elapsed.Seconds()
	rate := func(v float64) string {
		if secs <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f", v/secs)
	}
	mbRate := "-"
	if secs > 0 {
		mbRate = fmt.Sprintf("%.1f", float64(r.Bytes)/1e6/secs)
	}
	partial := "-"
	if r.WantPartial > 0 || r.Partial > 0 {
		partial = fmt.Sprintf("%d/%d", r.Partial, r.WantPartial)
	}
	result := "ok"
	switch {
	case r.Mode.Control && r.Caught():
		result = "caught (control)"
	case r.Mode.Control:
		result = "NOT CAUGHT"
	case !r.OK():
		result = "FAIL"
	}
	rep := r.Report
	return []string{r.Mode.Name, fmt.Sprint(r.Procs), fmt.Sprint(r.Rounds), fmt.Sprint(r.Records),
		fmt.Sprintf("%.1f", float64(r.Bytes)/1e6), fmt.Sprintf("%.1f", secs), rate(float64(r.Records)), mbRate,
		fmt.Sprint(rep.Missing), fmt.Sprint(rep.Duplicated), fmt.Sprint(rep.Torn), fmt.Sprint(rep.Interleaved),
		fmt.Sprint(rep.Reordered), partial, result}
}

// WriteTable writes the summary of results as an aligned text table, or
// as a Markdown table. Seconds are the time from starting the producers
// to the writer having drained, verification excluded; partial is the
// partial records the writer counted over the producers killed
// mid-record.
func WriteTable(w io.Writer, results []*Result, markdown bool) error {
	var total Result
	total.Mode.Name = "total"
	for _, r := range results {
		if r.Mode.Control {
			continue
		}
		total.Records += r.Records
		total.Bytes += r.Bytes
		total.Elapsed += r.Elapsed
		total.Partial += r.Partial
		total.WantPartial += r.WantPartial
		total.Failures = append(total.Failures, r.Failures...)
		total.add(&Result{Report: r.Report})
	}
	rows := [][]string{tableHeader}
	for _, r := range results {
		rows = append(rows, tableRow(r))
	}
	if len(results) > 1 {
		t := tableRow(&total)
		t[1], t[2] = "", ""
		rows = append(rows, t)
	}
	if markdown {
		for i, row := range rows {
			if _, err := fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | ")); err != nil {
				return err
			}
			if i == 0 {
				seps := make([]string, len(row))
				for j := range seps {
					seps[j] = "---"
					if j > 0 && j < len(row)-1 {
						seps[j] = "---:"
					}
				}
				fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t\n", strings.Join(row, "\t"))
	}
	return tw.Flush()
}
