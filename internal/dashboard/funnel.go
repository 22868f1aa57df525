package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"banklink"
)

var stepLabels = map[string]string{
	banklink.FunnelOpened:    "Widget opened",
	banklink.FunnelChosen:    "Institution chosen",
	banklink.FunnelLoggedIn:  "Login succeeded",
	banklink.FunnelCompleted: "Completed",
}

var dayOptions = []int{7, 14, 30, 90}

type stepTotal struct {
	Step, Label string
	Count       int
	// Rate is the share of the previous step that reached this one.
	Rate string
}

type rateRow struct {
	Key, Name                   string
	Chosen, LoggedIn, Completed int
	Link                        string
	// Dropped lists why the sessions that chose it did not log in there.
	Dropped []reasonCount
}

type reasonCount struct {
	Reason string
	Count  int
}

type dropRow struct {
	Step, Label string
	Count       int
	Reasons     []reasonCount
}

type funnelData struct {
	Days                  int
	DayOptions            []int
	Institution, Provider string // filters (institution id, provider wire name)
	InstitutionName       string
	Filtered              bool
	Totals                []stepTotal
	Overall               string
	Chart                 template.HTML
	ByInstitution         []rateRow
	ByProvider            []rateRow
	Drops                 []dropRow
	From, To              time.Time
	Empty                 bool
	Steps                 []stepTotal // legend
}

// reasonLabel names a drop-off reason.
func reasonLabel(r string) string {
	if r == "" {
		return "left without an error"
	}
	return r
}

func reasons(m map[string]int) []reasonCount {
	out := make([]reasonCount, 0, len(m))
	for r, n := range m {
		if n > 0 {
			out = append(out, reasonCount{Reason: reasonLabel(r), Count: n})
		}
	}
	slices.SortFunc(out, func(a, b reasonCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out
}

func (d *Dashboard) handleFunnel(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	days := 14
	if n, err := strconv.Atoi(q.Get("days")); err == nil && slices.Contains(dayOptions, n) {
		days = n
	}
	inst := strings.TrimSpace(q.Get("institution"))
	prov := providerType(q.Get("provider"))
	to := d.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	from := to.Add(-time.Duration(days) * 24 * time.Hour)
	steps, err := d.store.FunnelSteps(r.Context(), rq.scope, from, to)
	if err != nil {
		return err
	}
	fn := banklink.ComputeFunnel(steps, banklink.FunnelFilter{InstitutionID: inst, Provider: prov})
	data := funnelData{Days: days, DayOptions: dayOptions, Institution: inst, From: from, To: to.Add(-time.Second),
		Filtered: inst != "" || prov != "", Empty: len(steps) == 0}
	if prov != "" {
		data.Provider = banklink.ProviderWireName(prov)
	}
	if inst != "" {
		data.InstitutionName = d.institutionName(inst)
	}
	perDay := map[int]map[string]int{}
	for day, m := range fn.PerDay {
		perDay[int(day.Sub(from)/(24*time.Hour))] = m
	}
	prev := 0
	for i, s := range banklink.FunnelSteps {
		t := stepTotal{Step: s, Label: stepLabels[s], Count: fn.Totals[s]}
		if i > 0 && !(data.Filtered && i == 1) {
			t.Rate = pct(t.Count, prev)
		}
		prev = t.Count
		data.Totals = append(data.Totals, t)
	}
	data.Steps = data.Totals
	data.Overall = pct(fn.Totals[banklink.FunnelCompleted], fn.Totals[banklink.FunnelOpened])
	for _, dr := range fn.Drops {
		data.Drops = append(data.Drops, dropRow{Step: dr.Step, Label: stepLabels[dr.Step], Count: dr.Count, Reasons: reasons(dr.Reasons)})
	}
	base := rq.page("funnel")
	link := func(institution, provider string) string {
		v := url.Values{"days": {strconv.Itoa(days)}}
		if institution != "" {
			v.Set("institution", institution)
		}
		if provider != "" {
			v.Set("provider", provider)
		}
		return base + "?" + v.Encode()
	}
	row := func(fr banklink.FunnelRow, name, link string) rateRow {
		return rateRow{Key: fr.Key, Name: name, Chosen: fr.Chosen, LoggedIn: fr.LoggedIn, Completed: fr.Completed, Link: link, Dropped: reasons(fr.Dropped)}
	}
	for _, fr := range fn.ByInstitution {
		data.ByInstitution = append(data.ByInstitution, row(fr, d.institutionName(fr.Key), link(fr.Key, data.Provider)))
	}
	for _, fr := range fn.ByProvider {
		name := banklink.ProviderWireName(fr.Key)
		data.ByProvider = append(data.ByProvider, row(fr, name, link(inst, name)))
	}
	if len(data.ByInstitution) > 50 {
		data.ByInstitution = data.ByInstitution[:50]
	}
	data.Chart = chartSVG(from, days, perDay, data.Filtered)
	return d.render(w, http.StatusOK, "funnel", rq, view{Title: "Linking conversion", Nav: "funnel", Page: "funnel", Data: data})
}

// chartSVG draws one group of bars per day, one bar per funnel step,
// as inline SVG (no script, no external image: the CSP allows it, and
// the stylesheet colours the bars by class).
func chartSVG(from time.Time, days int, perDay map[int]map[string]int, filtered bool) template.HTML {
	steps := banklink.FunnelSteps
	if filtered {
		steps = steps[1:] // opened has no institution or provider yet
	}
	peak := 0
	for _, m := range perDay {
		for _, s := range steps {
			peak = max(peak, m[s])
		}
	}
	top := niceCeil(peak)
	bw := 10.0
	switch {
	case days > 30:
		bw = 2
	case days > 14:
		bw = 5
	}
	gap := bw * 0.8
	gw := bw*float64(len(steps)) + gap
	const left, right, plotTop, plotBottom, height = 44.0, 12.0, 12.0, 190.0, 222.0
	width := left + gw*float64(days) + right
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">`, width, height)
	fmt.Fprintf(&b, `<title id="chart-title">Funnel steps per day, %s to %s</title>`, from.Format("Jan 2"), from.AddDate(0, 0, days-1).Format("Jan 2"))
	scale := func(n int) float64 { return (plotBottom - plotTop) * float64(n) / float64(top) }
	for _, tick := range []int{0, top / 2, top} {
		y := plotBottom - scale(tick)
		fmt.Fprintf(&b, `<line class="grid" x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f"/>`, left, width-right, y, y)
		fmt.Fprintf(&b, `<text class="axis" x="%.0f" y="%.1f" text-anchor="end">%d</text>`, left-6, y+4, tick)
	}
	every := (days + 9) / 10
	for i := range days {
		day := from.AddDate(0, 0, i)
		x0 := left + gw*float64(i) + gap/2
		for j, s := range steps {
			n := perDay[i][s]
			if n == 0 {
				continue
			}
			h := scale(n)
			fmt.Fprintf(&b, `<rect class="bar s-%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s · %s: %d</title></rect>`,
				s, x0+bw*float64(j), plotBottom-h, bw, h, day.Format("Mon Jan 2"), html.EscapeString(stepLabels[s]), n)
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, x0+bw*float64(len(steps))/2, plotBottom+18, day.Format("Jan 2"))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built above from numbers, dates and escaped fixed labels only
}

// niceCeil rounds n up to a scale top: an even number up to 10, then 1,
// 2 or 5 times a power of ten (even, so the middle tick is whole).
func niceCeil(n int) int {
	if n <= 10 {
		return max(2, n+n%2)
	}
	p := 10
	for p*10 < n {
		p *= 10
	}
	for _, m := range []int{1, 2, 5} {
		if m*p >= n {
			return m * p
		}
	}
	return 10 * p
}
