"""Media on S3-compatible storage: a logo uploaded through the company form's service lands in
the bucket (private), is read back for the invoice PDF, and is linked with an expiring
signature. The bucket is moto's S3 server on 127.0.0.1 (the real S3 API), never the internet."""

from __future__ import annotations

import io
from collections.abc import Iterator

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from moto.server import ThreadedMotoServer
from PIL import Image

from recurent.companies.logo import logo_prepare
from recurent.documents.services import style_for
from recurent.settings.base import media_storage


@pytest.fixture
def s3(monkeypatch) -> Iterator[dict[str, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "RECURENT_S3_BUCKET": "recurent-media",
        "RECURENT_S3_ENDPOINT_URL": f"http://{host}:{port}",
        "RECURENT_S3_REGION": "eu-central-1",
        "RECURENT_S3_ACCESS_KEY": "test-access",
        "RECURENT_S3_SECRET_KEY": "test-secret",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    client = boto3.client(
        "s3", endpoint_url=env["RECURENT_S3_ENDPOINT_URL"], region_name="eu-central-1",
        aws_access_key_id="test-access", aws_secret_access_key="test-secret",
    )  # fmt: skip
    client.create_bucket(
        Bucket="recurent-media", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    env["client"] = client  # type: ignore[assignment]
    try:
        yield env
    finally:
        server.stop()


def test_the_setting_chooses_the_storage(monkeypatch):
    import recurent.settings.base as base

    monkeypatch.setattr(base, "RECURENT_MEDIA_STORAGE", "file")
    assert media_storage()["BACKEND"].endswith("FileSystemStorage")
    monkeypatch.setattr(base, "RECURENT_MEDIA_STORAGE", "ftp")
    with pytest.raises(Exception, match="expected file or s3"):
        media_storage()
    monkeypatch.setattr(base, "RECURENT_MEDIA_STORAGE", "s3")
    monkeypatch.delenv("RECURENT_S3_BUCKET", raising=False)
    with pytest.raises(Exception, match="RECURENT_S3_BUCKET"):
        media_storage()


def test_a_logo_goes_to_the_bucket_and_back_into_the_pdf(world, s3, monkeypatch):
    import recurent.settings.base as base

    monkeypatch.setattr(base, "RECURENT_MEDIA_STORAGE", "s3")
    storages = {
        "default": media_storage(),
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(buf, "PNG")
    with override_settings(STORAGES=storages):
        company = world.company
        company.logo.save("logo.png", logo_prepare(upload=SimpleUploadedFile(
            "logo.png", buf.getvalue(), content_type="image/png")), save=True)  # fmt: skip
        keys = [o["Key"] for o in s3["client"].list_objects_v2(Bucket="recurent-media")["Contents"]]  # type: ignore[index]
        assert keys == [f"media/{company.logo.name}"]
        stored = s3["client"].get_object(Bucket="recurent-media", Key=keys[0])["Body"].read()  # type: ignore[index]
        # Read back for the PDF from the bucket, byte for byte.
        assert style_for(company).logo == stored
        assert stored.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"))  # PNG or JPEG
        url = company.logo.url
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=600" in url
        # Private: no anonymous read.
        acl = s3["client"].get_object_acl(Bucket="recurent-media", Key=keys[0])  # type: ignore[index]
        assert all(g["Grantee"].get("URI", "").endswith("AllUsers") is False for g in acl["Grants"])
