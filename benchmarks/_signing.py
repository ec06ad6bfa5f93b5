"""SigV4 signing cost: sesclient against a bare hashlib/hmac floor and botocore.

All three sign the same SESv2 SendEmail request (POST, JSON body,
``Content-Type`` and ``Host`` signed) at the current time, so each call
hashes the body, builds the canonical request and string to sign, and
computes the final HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from ._harness import Contender, Skipped
from ._peers import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, V2_BODY, V2_PATH, SyncLoop

__all__ = ["SIGN_URL", "FloorSigner", "signing_contenders"]

SIGN_URL = f"https://email.{REGION}.amazonaws.com{V2_PATH}"


class FloorSigner:
    """The least work a correct signature for this one request shape takes.

    Nothing general: the method, path, header set and scope are fixed, the
    derived key is cached per day and the date string per second (as any
    sensible signer does), and the final HMAC is one ``hmac.digest`` call.
    Its output is byte-for-byte the same signature as sesclient's and
    botocore's for the same instant (the quick test checks that).
    """

    def __init__(
        self, access_key_id: str, secret_access_key: str, region: str, host: str, path: str
    ) -> None:
        self._access_key_id = access_key_id
        self._secret = secret_access_key
        self._region = region
        self._host = host
        self._path = path
        self._second = -1
        self._amz_date = ""
        self._day = ""
        self._key = b""
        self._scope = ""

    def sign(self, body: bytes, *, amz_date: str | None = None) -> dict[str, str]:
        """Headers to send ``body`` with: ``X-Amz-Date`` and ``Authorization`` added."""
        if amz_date is None:
            second = int(time.time())
            if second != self._second:
                self._second = second
                self._amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
            amz_date = self._amz_date
        day = amz_date[:8]
        if day != self._day:
            key = hmac.digest(f"AWS4{self._secret}".encode(), day.encode(), "sha256")
            for part in (self._region, "ses", "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            self._day, self._key = day, key
            self._scope = f"{day}/{self._region}/ses/aws4_request"
        canonical = (
            f"POST\n{self._path}\n\ncontent-type:application/json\nhost:{self._host}\n"
            f"x-amz-date:{amz_date}\n\ncontent-type;host;x-amz-date\n"
            f"{hashlib.sha256(body).hexdigest()}"
        )
        to_sign = (
            f"AWS4-HMAC-SHA256\n{amz_date}\n{self._scope}\n"
            f"{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        signature = hmac.digest(self._key, to_sign.encode(), "sha256").hex()
        return {
            "Content-Type": "application/json",
            "X-Amz-Date": amz_date,
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={self._access_key_id}/{self._scope}, "
                f"SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
            ),
        }


def signing_contenders() -> list[Contender]:
    def sesclient_signer() -> SyncLoop:
        from sesclient import Credentials
        from sesclient.sigv4 import sign_request

        credentials = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        headers = {"Content-Type": "application/json"}

        def op() -> Any:
            return sign_request(
                "POST",
                SIGN_URL,
                headers,
                V2_BODY,
                credentials=credentials,
                region=REGION,
                service="ses",
            )

        return SyncLoop(op)

    def floor_signer() -> SyncLoop:
        signer = FloorSigner(
            ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION, f"email.{REGION}.amazonaws.com", V2_PATH
        )
        sign = signer.sign
        return SyncLoop(lambda: sign(V2_BODY))

    def botocore_signer() -> SyncLoop:
        try:
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials as BotoCredentials
        except ImportError:
            raise Skipped("not installed (pip install botocore)") from None

        auth = SigV4Auth(BotoCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "ses", REGION)

        def op() -> None:
            request = AWSRequest(
                method="POST",
                url=SIGN_URL,
                data=V2_BODY,
                headers={"Content-Type": "application/json"},
            )
            auth.add_auth(request)

        return SyncLoop(op)

    return [
        Contender(
            "sesclient", "sesclient `sigv4.sign_request` (key cached)", sesclient_signer, "subject"
        ),
        Contender("floor", "bare hashlib/hmac signer (floor)", floor_signer, "floor"),
        Contender("botocore", "botocore `SigV4Auth.add_auth` (fresh AWSRequest)", botocore_signer),
    ]
