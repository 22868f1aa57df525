// Package bidi drives Firefox over WebDriver BiDi, for browser tests.
//
// Firefox no longer speaks the Chrome DevTools Protocol, and Debian ships
// no geckodriver; but Firefox started with --remote-debugging-port
// serves WebDriver BiDi (https://w3c.github.io/webdriver-bidi/) on a
// WebSocket itself. This package is the little of it the widget's tests
// need: navigate, evaluate script in a page or a frame, click like a
// person (input.performActions, so the click counts as a user gesture),
// set the viewport and take screenshots. The WebSocket client is its own
// (RFC 6455, text frames only) so the module gains no dependency.
package bidi

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Browser is a running Firefox and its BiDi session.
type Browser struct {
	cmd  *exec.Cmd
	conn net.Conn
	rd   *bufio.Reader

	wmu     sync.Mutex // one frame written at a time
	mu      sync.Mutex
	next    int
	pending map[int]chan reply
	err     error // why the connection ended
	done    chan struct{}
}

type reply struct {
	Type    string          `json:"type"`
	ID      *int            `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// prefs keep a test browser quiet and offline, and let the tests' pages
// open popups only from a click, as a customer's browser does.
const prefs = `user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("services.settings.server", "http://127.0.0.1:9/");
user_pref("dom.disable_open_during_load", true);
`

// Start launches Firefox (path) headless with a fresh profile in dir,
// with more preferences when given, and opens a BiDi session. Close ends
// both.
func Start(ctx context.Context, path, dir string, more map[string]any) (*Browser, error) {
	p := prefs
	for k, v := range more {
		js, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		p += fmt.Sprintf("user_pref(%q, %s);\n", k, js)
	}
	if err := os.WriteFile(filepath.Join(dir, "user.js"), []byte(p), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "--headless", "--no-remote", "--profile", dir, "--remote-debugging-port=0", "about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &Browser{cmd: cmd, pending: map[int]chan reply{}, done: make(chan struct{})}
	// Firefox says where it listens on stderr; the rest of its chatter is
	// drained so it never blocks on a full pipe.
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "WebDriver BiDi listening on ws://"); ok {
				select {
				case addr <- strings.TrimSpace(a):
				default:
				}
			}
		}
	}()
	var host string
	select {
	case host = <-addr:
	case <-ctx.Done():
		b.kill()
		return nil, fmt.Errorf("firefox did not start its BiDi server: %w", ctx.Err())
	case <-time.After(60 * time.Second):
		b.kill()
		return nil, errors.New("firefox did not start its BiDi server within 60s")
	}
	if err := b.dial(ctx, host); err != nil {
		b.kill()
		return nil, err
	}
	go b.readLoop()
	if err := b.Call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}, nil); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Browser) kill() {
	if b.cmd.Process != nil {
		b.cmd.Process.Kill()
		b.cmd.Wait()
	}
}

// Close ends the session and Firefox.
func (b *Browser) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.Call(ctx, "browser.close", map[string]any{}, nil)
	if b.conn != nil {
		b.conn.Close()
	}
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.kill()
	}
}

// dial opens the WebSocket at ws://host/session.
func (b *Browser) dial(ctx context.Context, host string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return err
	}
	key := make([]byte, 16)
	rand.Read(key)
	k := base64.StdEncoding.EncodeToString(key)
	fmt.Fprintf(conn, "GET /session HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", host, k)
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		conn.Close()
		return err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return fmt.Errorf("bidi: WebSocket handshake: %s", resp.Status)
	}
	b.conn, b.rd = conn, rd
	return nil
}

// write sends one masked text frame (clients must mask, RFC 6455 5.3).
func (b *Browser) write(opcode byte, payload []byte) error {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	hdr := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	hdr = append(hdr, mask...)
	out := make([]byte, len(payload))
	for i := range payload {
		out[i] = payload[i] ^ mask[i%4]
	}
	_, err := b.conn.Write(append(hdr, out...))
	return err
}

// readMessage reads one whole message, answering pings on the way.
func (b *Browser) readMessage() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(b.rd, h[:]); err != nil {
			return nil, err
		}
		fin, opcode := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(b.rd, l[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(b.rd, l[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(l[:])
		}
		var mask []byte
		if h[1]&0x80 != 0 {
			mask = make([]byte, 4)
			if _, err := io.ReadFull(b.rd, mask); err != nil {
				return nil, err
			}
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("bidi: a %d-byte frame", n)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(b.rd, p); err != nil {
			return nil, err
		}
		if mask != nil {
			for i := range p {
				p[i] ^= mask[i%4]
			}
		}
		switch opcode {
		case 0x8: // close
			return nil, io.EOF
		case 0x9: // ping
			if err := b.write(0xA, p); err != nil {
				return nil, err
			}
			continue
		case 0xA: // pong
			continue
		}
		msg = append(msg, p...)
		if fin {
			return msg, nil
		}
	}
}

func (b *Browser) readLoop() {
	var err error
	for {
		var m []byte
		if m, err = b.readMessage(); err != nil {
			break
		}
		var r reply
		if json.Unmarshal(m, &r) != nil || r.ID == nil {
			continue // events: the tests poll instead
		}
		b.mu.Lock()
		ch := b.pending[*r.ID]
		delete(b.pending, *r.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
	b.mu.Lock()
	b.err = err
	b.mu.Unlock()
	close(b.done)
}

// Error is a BiDi command's error answer.
type Error struct{ Code, Message string }

func (e *Error) Error() string { return "bidi: " + e.Code + ": " + e.Message }

// Call sends a command and decodes its result into out (when not nil).
func (b *Browser) Call(ctx context.Context, method string, params, out any) error {
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return fmt.Errorf("bidi: connection closed: %w", b.err)
	}
	b.next++
	id := b.next
	ch := make(chan reply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return err
	}
	if err := b.write(0x1, msg); err != nil {
		return err
	}
	select {
	case r := <-ch:
		if r.Type == "error" {
			return &Error{Code: r.Error, Message: r.Message}
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("bidi: connection closed during %s", method)
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return ctx.Err()
	}
}

// Context is a browsing context: a tab, a popup or a frame.
type Context struct {
	ID     string
	URL    string
	Parent string // "" for a tab or a popup
}

// Contexts lists every browsing context, frames included.
func (b *Browser) Contexts(ctx context.Context) ([]Context, error) {
	type node struct {
		Context  string `json:"context"`
		URL      string `json:"url"`
		Children []node `json:"children"`
	}
	var res struct {
		Contexts []node `json:"contexts"`
	}
	if err := b.Call(ctx, "browsingContext.getTree", map[string]any{}, &res); err != nil {
		return nil, err
	}
	var out []Context
	var walk func(n node, parent string)
	walk = func(n node, parent string) {
		out = append(out, Context{ID: n.Context, URL: n.URL, Parent: parent})
		for _, c := range n.Children {
			walk(c, n.Context)
		}
	}
	for _, n := range res.Contexts {
		walk(n, "")
	}
	return out, nil
}

// Navigate loads url in the context and waits for the load.
func (b *Browser) Navigate(ctx context.Context, context, url string) error {
	return b.Call(ctx, "browsingContext.navigate", map[string]any{"context": context, "url": url, "wait": "complete"}, nil)
}

// SetViewport sets the context's viewport size in CSS pixels.
func (b *Browser) SetViewport(ctx context.Context, context string, w, h int) error {
	return b.Call(ctx, "browsingContext.setViewport", map[string]any{"context": context,
		"viewport": map[string]any{"width": w, "height": h}}, nil)
}

// Eval evaluates expr in the context (awaiting a promise) and decodes
// its value, passed through JSON.stringify, into out.
func (b *Browser) Eval(ctx context.Context, context, expr string, out any) error {
	var res struct {
		Type             string `json:"type"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
		Result struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"result"`
	}
	err := b.Call(ctx, "script.evaluate", map[string]any{
		"expression":   "Promise.resolve((function () { return (" + expr + "); })()).then(function (v) { return JSON.stringify(v === undefined ? null : v); })",
		"target":       map[string]any{"context": context},
		"awaitPromise": true,
	}, &res)
	if err != nil {
		return err
	}
	if res.Type == "exception" {
		msg := "exception"
		if res.ExceptionDetails != nil {
			msg = res.ExceptionDetails.Text
		}
		return fmt.Errorf("bidi: %s: %s", expr, msg)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal([]byte(res.Result.Value), out)
}

// Click clicks the middle of the first element matching selector in
// the context (a tab, a popup or a frame) with the mouse, as a person
// would: the click is a user gesture (popup blockers allow what it opens).
func (b *Browser) Click(ctx context.Context, context, selector string) error {
	rect := func(context, sel string) ([4]float64, error) {
		var r [4]float64
		err := b.Eval(ctx, context, fmt.Sprintf(`(function () { var e = document.querySelector(%q); if (!e) return null;
  e.scrollIntoView({block: "center"}); var r = e.getBoundingClientRect(); return [r.left + e.clientLeft, r.top + e.clientTop, r.width, r.height]; })()`, sel), &r)
		if err == nil && r[2] == 0 && r[3] == 0 {
			err = fmt.Errorf("bidi: %s not shown", sel)
		}
		return r, err
	}
	el, err := rect(context, selector)
	if err != nil {
		return err
	}
	// Dispatched in the element's own context (a frame's coordinates are
	// its viewport's): Firefox routes actions sent to the tab into frames
	// of other sites (Fission) unreliably.
	x, y := el[0]+el[2]/2, el[1]+el[3]/2
	return b.Call(ctx, "input.performActions", map[string]any{"context": context, "actions": []any{map[string]any{
		"type": "pointer", "id": "mouse", "parameters": map[string]any{"pointerType": "mouse"},
		"actions": []any{
			map[string]any{"type": "pointerMove", "x": int(x), "y": int(y)},
			map[string]any{"type": "pointerDown", "button": 0},
			map[string]any{"type": "pointerUp", "button": 0},
		},
	}}}, nil)
}

// Screenshot returns a PNG of the context's viewport.
func (b *Browser) Screenshot(ctx context.Context, context string) ([]byte, error) {
	var res struct {
		Data string `json:"data"`
	}
	if err := b.Call(ctx, "browsingContext.captureScreenshot", map[string]any{"context": context}, &res); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(res.Data)
}
