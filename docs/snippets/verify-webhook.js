// Verify a banklink (or Meld) webhook in Node.js, standard library only.
//
// banklink signs each request with the webhook profile's secret:
//   meld-signature           = base64url, WITH padding, of
//                              HMAC-SHA256(secret, timestamp + "." + url + "." + rawBody)
//   meld-signature-timestamp = the timestamp, ISO-8601 UTC with microseconds
// During a secret rotation meld-signature holds two signatures separated
// by ", "; any one matching any of your secrets is enough.
//
// Verify the raw bytes of the body, before any JSON parsing, against the
// exact URL configured in the profile (not one rebuilt behind a proxy).
// With Express:
//
//   app.post("/webhooks", express.raw({ type: "application/json" }), (req, res) => {
//     try {
//       verifyWebhook([process.env.BANKLINK_WEBHOOK_SECRET], req.get("meld-signature"),
//         req.get("meld-signature-timestamp"), "https://app.example.com/webhooks", req.body);
//     } catch (e) { return res.status(401).send(e.reason); }
//     const event = JSON.parse(req.body);   // now trusted
//     res.sendStatus(200);
//   });
"use strict";
const crypto = require("crypto");

const DEFAULT_TOLERANCE_SECONDS = 300;

class WebhookVerificationError extends Error {
  constructor(reason, message) {
    super(message);
    this.reason = reason; // "missing" | "bad_timestamp" | "too_old" | "bad_signature" | "no_secret"
  }
}

function sign(secret, timestamp, url, rawBody) {
  const b64 = crypto.createHmac("sha256", secret)
    .update(timestamp + "." + url + ".").update(rawBody).digest("base64");
  // base64url keeping the "=" padding (Node's "base64url" drops it).
  return b64.replace(/\+/g, "-").replace(/\//g, "_");
}

// parseTimestamp reads ISO-8601 with any number of fraction digits; Date
// alone is only specified for milliseconds.
function parseTimestamp(ts) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) return NaN;
  return Date.parse(m[1] + "." + ((m[2] || "") + "000").slice(0, 3) + m[3]) / 1000;
}

// verifyWebhook throws a WebhookVerificationError unless the request is
// authentic and recent. secrets: your current secret(s); rawBody: Buffer
// or string; options.toleranceSeconds (default 300, negative to disable),
// options.now (seconds since the epoch, for tests).
function verifyWebhook(secrets, signatureHeader, timestampHeader, url, rawBody, options = {}) {
  if (!signatureHeader || !timestampHeader) {
    throw new WebhookVerificationError("missing", "missing meld-signature or meld-signature-timestamp header");
  }
  const ts = parseTimestamp(timestampHeader);
  if (Number.isNaN(ts)) throw new WebhookVerificationError("bad_timestamp", "malformed meld-signature-timestamp");
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.now ?? Date.now() / 1000;
  if (tolerance >= 0 && Math.abs(now - ts) > tolerance) {
    throw new WebhookVerificationError("too_old", "signature timestamp outside tolerance");
  }
  const usable = (secrets || []).filter(Boolean);
  if (usable.length === 0) throw new WebhookVerificationError("no_secret", "no secret to verify with");
  const got = signatureHeader.split(",").map((s) => Buffer.from(s.trim()));
  for (const secret of usable) {
    const want = Buffer.from(sign(secret, timestampHeader, url, rawBody));
    for (const g of got) {
      if (g.length === want.length && crypto.timingSafeEqual(g, want)) return true;
    }
  }
  throw new WebhookVerificationError("bad_signature", "signature does not match");
}

module.exports = { verifyWebhook, sign, WebhookVerificationError };
