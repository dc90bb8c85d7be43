"""The image bucket, through the S3 API (MinIO client). Images are public by
key: anonymous GetObject on `chart/*` only, no listing, so a link works
without credentials and cannot be discovered by browsing."""

from __future__ import annotations

import io
import json
import logging
from minio import Minio

from chartsnap.image_keys import PUBLIC_PREFIX
from chartsnap.settings import S3Settings

log = logging.getLogger(__name__)


def image_store_for(s3: S3Settings) -> "ImageStore":
    return ImageStore(s3.endpoint, s3.access_key, s3.secret_key, s3.bucket, s3.secure)


def public_read_policy(bucket: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/{PUBLIC_PREFIX}*"],
        }],
    })


class ImageStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False) -> None:
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure)
        self.bucket = bucket

    def ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket)
        self.client.set_bucket_policy(self.bucket, public_read_policy(self.bucket))

    def put_png(self, key: str, png: bytes) -> None:
        """Idempotent: the key is fixed per snapshot, so a retry overwrites the same object."""
        self.client.put_object(
            self.bucket, key, io.BytesIO(png), len(png), content_type="image/png",
            metadata={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    def get(self, key: str) -> bytes:
        response = self.client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()
