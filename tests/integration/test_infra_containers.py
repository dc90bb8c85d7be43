"""--infra=containers is real: the integration tier's NATS, S3 store and
PostgreSQL are containers of the locally built dev images, on podman's
Docker-compatible API (tests/deploy_live/podman_docker_api.py), and the
services' own adapters work against them. `make test-deploy` runs the tier
this way once; a plain `make test` (--infra=local) skips this module."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy

from chartsnap import queue
from chartsnap.image_keys import PUBLIC_PREFIX
from chartsnap.image_store import ImageStore
from devstack.processes import Stack
from tests.deploy_live.podman_docker_api import NATS_IMAGE, POSTGRES_IMAGE, S3_IMAGE

pytestmark = [pytest.mark.timeout(180)]


@pytest.fixture(autouse=True, scope="module")
def only_with_containers(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--infra") != "containers":
        pytest.skip("needs --infra=containers (make test-deploy runs the integration tier that way)")


def running_images() -> dict[str, int]:
    """Image → running containers of this test run (testcontainers' session
    label: other containers on the machine do not count), as podman's Docker
    API reports them."""
    import docker
    from testcontainers.core.labels import LABEL_SESSION_ID, SESSION_ID

    client = docker.from_env()
    try:
        counts: dict[str, int] = {}
        for c in client.containers.list(filters={"label": f"{LABEL_SESSION_ID}={SESSION_ID}"}):
            for tag in c.image.tags:
                counts[tag] = counts.get(tag, 0) + 1
        return counts
    finally:
        client.close()


def test_nats_and_the_s3_store_are_the_dev_image_containers(infra: Stack):
    images = running_images()
    assert images.get(NATS_IMAGE, 0) >= 1 and images.get(S3_IMAGE, 0) >= 1, images
    assert infra.external_nats_url and infra.external_s3_endpoint
    assert not infra.processes, "no local nats-server or S3 process in containers mode"


async def test_jetstream_in_the_nats_container_takes_the_stack_logins(infra: Stack):
    import nats
    from nats.errors import NoServersError

    nc = await nats.connect(infra.nats_url, **infra.nats_admin_options)
    try:
        js = nc.jetstream()
        await queue.ensure_streams(js)
        assert {c.name for c in queue.STREAMS} <= {s.config.name for s in await js.streams_info()}
    finally:
        await nc.close()
    with pytest.raises((NoServersError, nats.errors.Error, OSError)):
        await nats.connect(infra.nats_url, user="snapshot_svc", password="wrong", allow_reconnect=False,
                           max_reconnect_attempts=0, connect_timeout=5)


def test_the_image_store_puts_a_png_the_s3_container_serves_publicly(infra: Stack):
    import requests

    store = ImageStore(infra.s3_endpoint, infra.creds.access_key, infra.creds.secret_key, "chartsnap")
    store.ensure_bucket()
    key = f"{PUBLIC_PREFIX}{uuid.uuid4().hex}.png"  # only this prefix is public-read
    png = b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes
    store.put_png(key, png)
    reply = requests.get(f"{infra.env['CHARTSNAP_IMAGE_BASE_URL']}/{key}", timeout=10)
    assert (reply.status_code, reply.content) == (200, png)


def test_postgresql_is_the_dev_postgres_container(postgres_cluster):
    assert running_images().get(POSTGRES_IMAGE, 0) >= 1
    url = postgres_cluster.create_database(f"containers_{uuid.uuid4().hex[:8]}")
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("select current_setting('listen_addresses')")).scalar() == "127.0.0.1"
    finally:
        engine.dispose()
