"""Verify a banklink (or Meld) webhook in Python 3.8+, standard library only.

banklink signs each request with the webhook profile's secret:
  meld-signature           = base64url, WITH padding, of
                             HMAC-SHA256(secret, timestamp + "." + url + "." + raw_body)
  meld-signature-timestamp = the timestamp, ISO-8601 UTC with microseconds
During a secret rotation meld-signature holds two signatures separated by
", "; any one matching any of your secrets is enough.

Verify the raw bytes of the body, before any JSON parsing, against the
exact URL configured in the profile (not one rebuilt behind a proxy).
With Flask:

    @app.post("/webhooks")
    def webhooks():
        try:
            verify_webhook([os.environ["BANKLINK_WEBHOOK_SECRET"]],
                           request.headers.get("meld-signature"),
                           request.headers.get("meld-signature-timestamp"),
                           "https://app.example.com/webhooks", request.get_data())
        except WebhookVerificationError as e:
            return e.reason, 401
        event = json.loads(request.get_data())  # now trusted
        return "", 200
"""
import base64
import hashlib
import hmac
import re
import time
from datetime import datetime

DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(Exception):
    """reason is one of: missing, bad_timestamp, too_old, bad_signature, no_secret."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


def sign(secret, timestamp, url, raw_body):
    mac = hmac.new(secret.encode(), (timestamp + "." + url + ".").encode() + raw_body, hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode()  # keeps the "=" padding


_TS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$")


def _parse_timestamp(ts):
    # fromisoformat before Python 3.11 takes neither "Z" nor more than six
    # fraction digits.
    m = _TS.match(ts)
    if not m:
        return None
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    frac = ((m.group(2) or "") + "000000")[:6]
    try:
        return datetime.fromisoformat(m.group(1) + "." + frac + zone).timestamp()
    except ValueError:
        return None


def verify_webhook(secrets, signature_header, timestamp_header, url, raw_body,
                   tolerance_seconds=DEFAULT_TOLERANCE_SECONDS, now=None):
    """Raise WebhookVerificationError unless the request is authentic and recent.

    secrets: your current secret(s); raw_body: the body's bytes;
    tolerance_seconds < 0 disables the age check; now: seconds since the
    epoch, for tests.
    """
    if not signature_header or not timestamp_header:
        raise WebhookVerificationError("missing", "missing meld-signature or meld-signature-timestamp header")
    ts = _parse_timestamp(timestamp_header)
    if ts is None:
        raise WebhookVerificationError("bad_timestamp", "malformed meld-signature-timestamp")
    if now is None:
        now = time.time()
    if tolerance_seconds >= 0 and abs(now - ts) > tolerance_seconds:
        raise WebhookVerificationError("too_old", "signature timestamp outside tolerance")
    usable = [s for s in (secrets or []) if s]
    if not usable:
        raise WebhookVerificationError("no_secret", "no secret to verify with")
    got = [s.strip().encode() for s in signature_header.split(",")]
    for secret in usable:
        want = sign(secret, timestamp_header, url, raw_body).encode()
        if any(hmac.compare_digest(g, want) for g in got):
            return True
    raise WebhookVerificationError("bad_signature", "signature does not match")
