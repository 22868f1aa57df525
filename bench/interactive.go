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
// better; the target is at most interactiveLimit).
func printInteractiveRatios(rows []*mixRow, merged map[*mixRow]*mixStats, base99 time.Duration) {
	fmt.Println()
	fmt.Printf("Interactive under the mix: each step's p99 / the baseline's connect/start p99 (%s); target at most %.0f×.\n", base99.Round(time.Microsecond), interactiveLimit)
	fmt.Println()
	fmt.Println("| target | operation | p50 | p99 | p99 / baseline p99 | within target |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rows {
		m := merged[r]
		worst := 0.0
		for _, op := range interactiveOps {
			h := &m.ops[op]
			ratio := float64(h.pct(0.99)) / float64(base99)
			worst = max(worst, ratio)
			fmt.Printf("| %s | %s | %s | %s | %.1f | %s |\n", r.name, opNames[op], h.pct(0.50).Round(time.Microsecond), h.pct(0.99).Round(time.Microsecond),
				ratio, yesNo(ratio <= interactiveLimit))
		}
		fmt.Printf("| %s | **worst interactive step** | | | **%.1f** | %s |\n", r.name, worst, yesNo(worst <= interactiveLimit))
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
