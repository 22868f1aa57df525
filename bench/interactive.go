package main

import (
	"fmt"
	"time"
)

// interactiveOps are the requests a person waits for in the mix: an app's
// connect/start, and each step of the Connect Widget.
var interactiveOps = []int{opStart, opFlowStart, opFlowSelect, opFlowLogin, opFlowComplete}

// interactiveLimit is issue 21's target: under the mix, each interactive
// step's p99 at most this many times the baseline's connect/start p99 in
// the same run.
const interactiveLimit = 5.0

// printInteractiveRatios prints each interactive step's p99 under the mix
// divided by the connect/start baseline's p99 of the same run (lower is
// better; the target is at most interactiveLimit). With an open loop
// (open99 above 0) it also divides by the baseline's p99 at the same
// arrival rate.
func printInteractiveRatios(rows []*mixRow, merged map[*mixRow]*mixStats, base99, open99 time.Duration) {
	fmt.Println()
	fmt.Printf("Interactive under the mix: each step's p99 / the baseline's connect/start p99 (%s); target at most %.0f×.", base99.Round(time.Microsecond), interactiveLimit)
	extra, sep := "", ""
	if open99 > 0 {
		fmt.Printf(" Also / the open-loop baseline's p99 at the same rate (%s), a stricter measure: that baseline's machine is idle.", open99.Round(time.Microsecond))
		extra, sep = " p99 / open baseline p99 |", "---|"
	}
	fmt.Println()
	fmt.Println()
	fmt.Println("| target | operation | p50 | p99 | p99 / baseline p99 | within target |" + extra)
	fmt.Println("|---|---|---|---|---|---|" + sep)
	for _, r := range rows {
		m := merged[r]
		worst, worstOpen := 0.0, 0.0
		for _, op := range interactiveOps {
			h := &m.ops[op]
			ratio := float64(h.pct(0.99)) / float64(base99)
			worst = max(worst, ratio)
			fmt.Printf("| %s | %s | %s | %s | %.1f | %s |", r.name, opNames[op], h.pct(0.50).Round(time.Microsecond), h.pct(0.99).Round(time.Microsecond),
				ratio, yesNo(ratio <= interactiveLimit))
			if open99 > 0 {
				ro := float64(h.pct(0.99)) / float64(open99)
				worstOpen = max(worstOpen, ro)
				fmt.Printf(" %.1f |", ro)
			}
			fmt.Println()
		}
		fmt.Printf("| %s | **worst interactive step** | | | **%.1f** | %s |", r.name, worst, yesNo(worst <= interactiveLimit))
		if open99 > 0 {
			fmt.Printf(" **%.1f** |", worstOpen)
		}
		fmt.Println()
	}
	fmt.Println()
	fmt.Println("Background throughput: aggregations finished while the load ran (the rest of the backlog drains after it; see the drain time below).")
	fmt.Println()
	fmt.Println("| target | widget flows completed | aggregations finished during the load | per s |")
	fmt.Println("|---|---|---|---|")
	for _, r := range rows {
		m := merged[r]
		fmt.Printf("| %s | %d | %.0f | %.1f |\n", r.name, m.ops[opFlow].n.Load(), r.aggsUnderLoad, r.aggsUnderLoad/m.elapsed.Seconds())
	}
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}
