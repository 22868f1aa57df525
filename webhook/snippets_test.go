package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The verifiers in docs/snippets, for receivers written in Node.js and
// Python, must agree with Verify. Each runs once over every case: the
// driver reads the cases as JSON on stdin and prints each one's outcome.

type snippetCase struct {
	Name      string   `json:"name"`
	Secrets   []string `json:"secrets"`
	Signature string   `json:"signature"`
	Timestamp string   `json:"timestamp"`
	URL       string   `json:"url"`
	Body      string   `json:"body"` // base64: the exact bytes
	Now       float64  `json:"now"`  // 0: the real clock
	want      string   // "" when authentic, else the snippets' reason
	goErr     error
}

// snippetCases covers Meld's published vector, signatures made by this
// package (including a rotation header and non-ASCII bytes), and each
// way a request must be refused.
func snippetCases() []snippetCase {
	vecNow := float64(vectorNow().Unix())
	body := []byte(vectorBody)
	nowTS := time.Now().UTC().Format(TimestampFormat)
	live := []byte(`{"eventType":"BANK_LINKING_ACCOUNTS_UPDATED","payload":{"institutionName":"Banque Sandbox du Québec"}}`)
	liveURL := "http://127.0.0.1:8080/hooks?x=1"
	liveSig := Sign("s3cret", nowTS, liveURL, live)
	rotation := SignatureHeaderValue([]string{"new-secret", "old-secret"}, nowTS, liveURL, live)
	tampered := bytes.Replace(live, []byte("Québec"), []byte("Quebec"), 1)
	c := func(name string, secrets []string, sig, ts, url string, b []byte, now float64, want string, goErr error) snippetCase {
		return snippetCase{Name: name, Secrets: secrets, Signature: sig, Timestamp: ts, URL: url,
			Body: base64.StdEncoding.EncodeToString(b), Now: now, want: want, goErr: goErr}
	}
	return []snippetCase{
		c("meld vector", []string{vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, body, vecNow, "", nil),
		c("banklink signature now", []string{"s3cret"}, liveSig, nowTS, liveURL, live, 0, "", nil),
		c("rotation header, old secret", []string{"old-secret"}, rotation, nowTS, liveURL, live, 0, "", nil),
		c("rotation header, new secret", []string{"other", "new-secret"}, rotation, nowTS, liveURL, live, 0, "", nil),
		c("tampered body", []string{"s3cret"}, liveSig, nowTS, liveURL, tampered, 0, "bad_signature", ErrBadSignature),
		c("tampered vector body", []string{vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, append(bytes.Clone(body), ' '), vecNow, "bad_signature", ErrBadSignature),
		c("other url", []string{"s3cret"}, liveSig, nowTS, liveURL+"&y=2", live, 0, "bad_signature", ErrBadSignature),
		c("wrong secret", []string{"nope"}, liveSig, nowTS, liveURL, live, 0, "bad_signature", ErrBadSignature),
		c("unpadded signature", []string{vectorSecret}, vectorSignature[:len(vectorSignature)-1], vectorTimestamp, vectorURL, body, vecNow, "bad_signature", ErrBadSignature),
		c("stale timestamp", []string{vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, body, vecNow+3600, "too_old", ErrTooOld),
		c("stale by the real clock", []string{vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, body, 0, "too_old", ErrTooOld),
		c("timestamp from the future", []string{vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, body, vecNow-3600, "too_old", ErrTooOld),
		c("missing signature", []string{vectorSecret}, "", vectorTimestamp, vectorURL, body, vecNow, "missing", ErrMissingSignature),
		c("missing timestamp", []string{vectorSecret}, vectorSignature, "", vectorURL, body, vecNow, "missing", ErrMissingSignature),
		c("malformed timestamp", []string{vectorSecret}, vectorSignature, "yesterday", vectorURL, body, vecNow, "bad_timestamp", ErrBadTimestamp),
		c("no secret", []string{""}, vectorSignature, vectorTimestamp, vectorURL, body, vecNow, "no_secret", ErrNoSecret),
	}
}

const nodeDriver = `
const { verifyWebhook } = require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = {};
for (const c of cases) {
  try {
    verifyWebhook(c.secrets, c.signature, c.timestamp, c.url, Buffer.from(c.body, "base64"), c.now ? { now: c.now } : {});
    out[c.name] = "";
  } catch (e) { out[c.name] = e.reason || ("exception: " + e); }
}
console.log(JSON.stringify(out));
`

const pythonDriver = `
import base64, json, sys
sys.path.insert(0, sys.argv[1])
from verify_webhook import verify_webhook, WebhookVerificationError
out = {}
for c in json.load(sys.stdin):
    try:
        verify_webhook(c["secrets"], c["signature"], c["timestamp"], c["url"], base64.b64decode(c["body"]), now=c["now"] or None)
        out[c["name"]] = ""
    except WebhookVerificationError as e:
        out[c["name"]] = e.reason
print(json.dumps(out))
`

func TestSnippetsAgreeWithVerify(t *testing.T) {
	for _, tt := range snippetCases() {
		body, _ := base64.StdEncoding.DecodeString(tt.Body)
		opt := Options{}
		if tt.Now != 0 {
			opt.Now = func() time.Time { return time.Unix(int64(tt.Now), 0) }
		}
		if err := Verify(tt.Secrets, tt.Signature, tt.Timestamp, tt.URL, body, opt); !errors.Is(err, tt.goErr) {
			t.Errorf("%s: Verify = %v, want %v", tt.Name, err, tt.goErr)
		}
	}
}

func TestSnippets(t *testing.T) {
	dir, err := filepath.Abs("../docs/snippets")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, tool string
		args       []string
	}{
		{"node", "node", []string{"-e", nodeDriver, filepath.Join(dir, "verify-webhook.js")}},
		{"python", "python3", []string{"-c", pythonDriver, dir}},
	}
	cases := snippetCases()
	in, _ := json.Marshal(cases)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, err := exec.LookPath(tt.tool)
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("CI=true but %s is not installed", tt.tool)
				}
				t.Skipf("%s not installed: the %s webhook verifier is not tested", tt.tool, tt.name)
			}
			cmd := exec.Command(bin, tt.args...)
			cmd.Stdin = bytes.NewReader(in)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s", tt.tool, err, stderr.String())
			}
			var got map[string]string
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s printed %q: %v", tt.tool, out, err)
			}
			for _, c := range cases {
				if g, ok := got[c.Name]; !ok || g != c.want {
					t.Errorf("%s: got %q, want %q", c.Name, g, c.want)
				}
			}
		})
	}
}
