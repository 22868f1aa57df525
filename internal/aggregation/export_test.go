package aggregation

// Claiming reports whether Run is claiming work (so Start may leave work
// in the store).
func (r *Runner) Claiming() bool { return r.claiming.Load() }
