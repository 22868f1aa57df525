package search

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"banklink"
	"banklink/internal/testenv"
)

// fakeSource is an in-memory directory with a version, standing in for the
// store.
type fakeSource struct {
	mu      sync.Mutex
	list    []*banklink.Institution
	version int64
	err     error
	loads   atomic.Int32 // FindInstitutions calls
}

func (s *fakeSource) FindInstitutions(context.Context) ([]*banklink.Institution, error) {
	s.loads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return s.list, nil
}

func (s *fakeSource) InstitutionsVersion(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version, s.err
}

func (s *fakeSource) set(version int64, list []*banklink.Institution, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version, s.list, s.err = version, list, err
}

func TestLiveRefresh(t *testing.T) {
	src := &fakeSource{}
	l := NewLive(src)
	if ix := l.Current(); ix == nil || ix.Len() != 0 {
		t.Fatalf("before the first refresh Current = %v, want an empty index", ix)
	}
	v1 := []*banklink.Institution{inst("a", "Alpha Bank", 1)}
	v2 := []*banklink.Institution{inst("a", "Alpha Bank", 1), inst("b", "Bravo Bank", 2)}
	boom := errors.New("database gone")
	for _, tc := range []struct {
		name      string
		version   int64
		list      []*banklink.Institution
		err       error
		wantErr   bool
		wantLen   int
		wantVer   int64
		wantLoads int32
	}{
		// Version 0 is a real version: the first refresh always builds.
		{name: "first refresh builds", version: 0, list: v1, wantLen: 1, wantVer: 0, wantLoads: 1},
		{name: "same version keeps the index", version: 0, list: v2, wantLen: 1, wantVer: 0, wantLoads: 1},
		{name: "new version rebuilds", version: 7, list: v2, wantLen: 2, wantVer: 7, wantLoads: 2},
		{name: "failure keeps the old index", version: 8, list: v1, err: boom, wantErr: true, wantLen: 2, wantVer: 7, wantLoads: 2},
		{name: "recovery rebuilds", version: 8, list: v1, wantLen: 1, wantVer: 8, wantLoads: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src.set(tc.version, tc.list, tc.err)
			err := l.Refresh(t.Context())
			if (err != nil) != tc.wantErr {
				t.Fatalf("Refresh: %v, want error %v", err, tc.wantErr)
			}
			ix := l.Current()
			if ix.Len() != tc.wantLen || ix.Version() != tc.wantVer {
				t.Errorf("index has %d institutions at version %d, want %d at %d", ix.Len(), ix.Version(), tc.wantLen, tc.wantVer)
			}
			if got := src.loads.Load(); got != tc.wantLoads {
				t.Errorf("%d directory loads, want %d", got, tc.wantLoads)
			}
		})
	}
}

func TestLiveRun(t *testing.T) {
	src := &fakeSource{list: []*banklink.Institution{inst("a", "Alpha Bank", 1)}, version: 1}
	l := NewLive(src)
	if err := l.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, time.Millisecond)
	}()
	src.set(2, []*banklink.Institution{inst("a", "Alpha Bank", 1), inst("b", "Bravo Bank", 2)}, nil)
	testenv.Eventually(t, 10*time.Second, "Run picking up the new directory version", func() bool { return l.Current().Version() == 2 })
	cancel()
	<-done
}

// TestLiveConcurrentSearch searches while the directory keeps changing;
// run it with -race.
func TestLiveConcurrentSearch(t *testing.T) {
	dir := smallDir()
	src := &fakeSource{list: dir[:1000], version: 1}
	l := NewLive(src)
	if err := l.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			queries := []Query{
				{Name: "first", Eligibility: all},
				{Name: "bank", Eligibility: banklink.Eligibility{Regions: []banklink.Region{"US-NY"}}},
				{Name: "", Eligibility: all, Limit: 50},
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ix := l.Current()
				q := queries[(i+w)%len(queries)]
				res, err := ix.Search(q)
				if err != nil {
					t.Errorf("Search: %v", err)
					return
				}
				// Page on with a cursor from the same index: it must stay
				// valid however the live index changes meanwhile.
				if res.Count > 0 {
					q.After = res.Institutions[res.Count-1].Key
					if _, err := ix.Search(q); err != nil {
						t.Errorf("Search after: %v", err)
						return
					}
				}
				ix.Count(q.Eligibility)
				ix.Explain(banklink.Eligibility{Products: banklink.NewProductSet(banklink.Owners), Regions: []banklink.Region{banklink.Region("US-" + banklink.USStates[i%len(banklink.USStates)])}})
			}
		})
	}
	for v := int64(2); v < 12; v++ {
		src.set(v, dir[:1000+int(v)*100], nil)
		if err := l.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if got := l.Current().Len(); got != 2100 {
		t.Errorf("final index has %d institutions, want 2100", got)
	}
}

// TestLiveKeepsInlineImagesOut: an inline (data:) logo is replaced by
// StoredImage in the in-memory directory; URLs stay as they are.
func TestLiveKeepsInlineImagesOut(t *testing.T) {
	withImages := func(im banklink.InstitutionImages) func(*banklink.Institution) {
		return func(in *banklink.Institution) { in.Images = im }
	}
	src := &fakeSource{}
	src.set(1, []*banklink.Institution{
		inst("p", "Plaid Bank", 1, withImages(banklink.InstitutionImages{Icon: "data:image/png;base64,iVBORw0KGgo=", Color: "#004966"})),
		inst("m", "MX Bank", 2, withImages(banklink.InstitutionImages{Icon: "https://cdn.example/m.png", Tile: "data:image/png;base64,AAAA"})),
	}, nil)
	l := NewLive(src)
	if err := l.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	p, _ := l.Current().ByID("p")
	m, _ := l.Current().ByID("m")
	if p.Images != (banklink.InstitutionImages{Icon: StoredImage, Color: "#004966"}) {
		t.Errorf("Plaid Bank's images in memory = %+v", p.Images)
	}
	if m.Images != (banklink.InstitutionImages{Icon: "https://cdn.example/m.png", Tile: StoredImage}) {
		t.Errorf("MX Bank's images in memory = %+v", m.Images)
	}
}
