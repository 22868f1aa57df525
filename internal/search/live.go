package search

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"banklink"
)

// Source is the part of the store Live rebuilds from;
// banklink.InstitutionStore satisfies it.
type Source interface {
	// FindInstitutions returns the whole directory.
	FindInstitutions(ctx context.Context) ([]*banklink.Institution, error)
	// InstitutionsVersion returns a number that changes whenever the
	// directory does.
	InstitutionsVersion(ctx context.Context) (int64, error)
}

// Live holds the current Index and rebuilds it when the store's directory
// version changes, which another replica may cause at any time. Readers
// never wait for a rebuild: they keep the index they got until they ask
// again.
type Live struct {
	// Log receives refresh failures from Run; nil means slog.Default().
	Log *slog.Logger

	src     Source
	current atomic.Pointer[Index]
	mu      sync.Mutex // serialises rebuilds
	built   bool
}

// NewLive returns a Live over src. Until the first successful Refresh,
// Current returns an empty index.
func NewLive(src Source) *Live {
	l := &Live{src: src}
	l.current.Store(New(nil))
	return l
}

// Current returns the index in use. It never returns nil.
func (l *Live) Current() *Index { return l.current.Load() }

// Refresh rebuilds the index if the directory version differs from the one
// the current index was built from, or if no index was built yet.
func (l *Live) Refresh(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Read the version before the directory: if it changes in between,
	// the next refresh sees a newer version and rebuilds again, whereas
	// the opposite order could pair new data with an old version forever.
	v, err := l.src.InstitutionsVersion(ctx)
	if err != nil {
		return fmt.Errorf("institution directory version: %w", err)
	}
	if l.built && l.current.Load().version == v {
		return nil
	}
	list, err := l.src.FindInstitutions(ctx)
	if err != nil {
		return fmt.Errorf("load institution directory: %w", err)
	}
	for _, in := range list {
		stripInline(&in.Images)
	}
	ix := New(list)
	ix.version = v
	l.current.Store(ix)
	l.built = true
	return nil
}

// Run calls Refresh every interval until ctx is done, logging failures;
// the previous index stays in use when a refresh fails.
func (l *Live) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := l.Refresh(ctx); err != nil && ctx.Err() == nil {
				log := l.Log
				if log == nil {
					log = slog.Default()
				}
				log.Warn("institution index refresh failed", "err", err)
			}
		}
	}
}

// StoredImage stands, in the in-memory directory, for an image the
// stored institution holds inline (a "data:" URL: Plaid's logos): read
// it with the store's FindInstitutionByID. Inline logos would cost every
// replica kilobytes per institution, tens of megabytes for a provider's
// whole directory, for images only the picker's visible rows need.
const StoredImage = "data:"

// stripInline replaces inline images with StoredImage.
func stripInline(im *banklink.InstitutionImages) {
	for _, p := range []*string{&im.Icon, &im.Tile, &im.Wide} {
		if strings.HasPrefix(*p, "data:") {
			*p = StoredImage
		}
	}
}
