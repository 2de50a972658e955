"""The seed's flows through the Python client generated from openapi/clementine.json.

Log in, add an engine, run a container, list all, read its logs, destroy it, read the events:
every answer must come back parsed into the generated types (not `None`, not an error).

    python seed_flow.py BASE_URL ADMIN PASSWORD ENGINE_ADDR
"""

import sys

from clementine_client import AuthenticatedClient, Client
from clementine_client.api.containers import (
    container_logs,
    destroy_container,
    list_containers,
    run_container,
)
from clementine_client.api.engines import add_engine
from clementine_client.api.events import list_events
from clementine_client.api.session import login
from clementine_client.models import (
    Credentials,
    EnvelopeContainerListing,
    EnvelopeEngine,
    EnvelopeEventPage,
    EnvelopeLoginData,
    EnvelopeLogs,
    EnvelopeRunAnswer,
    EnvelopeContainer,
    ImageConfig,
    NewEngine,
)


def parsed(answer, kind):
    """The answer's data, after checking it parsed into the generated envelope type."""
    if not isinstance(answer, kind):
        raise SystemExit(f"expected {kind.__name__}, got {answer!r}")
    assert answer.ok is True
    return answer.data


def main(base_url, admin, password, engine_addr):
    anonymous = Client(base_url=base_url)
    token = parsed(
        login.sync(client=anonymous, body=Credentials(username=admin, password=password)),
        EnvelopeLoginData,
    ).token
    api = AuthenticatedClient(base_url=base_url, token=token)

    engine = parsed(
        add_engine.sync(client=api, body=NewEngine(id="py1", addr=engine_addr)),
        EnvelopeEngine,
    )
    config = ImageConfig(
        name="busybox:latest",
        args=["sh", "-c", "echo hello from the python client; sleep 60"],
        labels=["host:py1"],
        container_name="py-seed",
    )
    run = parsed(run_container.sync(client=api, body=config), EnvelopeRunAnswer)
    everything = parsed(list_containers.sync(client=api, engine="py1"), EnvelopeContainerListing)
    container = next(c for c in everything.containers if c.name == "/py-seed")
    lines = []
    for _ in range(50):
        logs = parsed(
            container_logs.sync(id=engine.id, cid=container.id, client=api, tail=10),
            EnvelopeLogs,
        )
        lines = logs.lines
        if lines:
            break
    assert "hello from the python client" in lines, lines
    gone = parsed(
        destroy_container.sync(id=engine.id, cid=container.id, client=api), EnvelopeContainer
    )
    assert gone.id == container.id
    page = parsed(list_events.sync(client=api, action="container.", limit=20), EnvelopeEventPage)
    actions = [e.action for e in page.events]
    assert "container.schedule" in actions and "container.destroy" in actions, actions
    print(f"python client: ran {container.id[:12]} on {engine.id}, read {len(lines)} log lines, "
          f"destroyed it, saw {len(page.events)} events ({type(run).__name__} answers parsed)")


if __name__ == "__main__":
    main(*sys.argv[1:5])
